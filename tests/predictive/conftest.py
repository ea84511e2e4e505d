"""Small generated data for the predictive tests (the shared datasets are bench-only)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from leadbridge.core.models import Activity, Channel, Lead, Outcome, OutcomeStatus

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class History:
    leads: list[Lead]
    activities: list[Activity]
    outcomes: list[Outcome]
    end: datetime


def make_history(
    n: int = 600, *, seed: int = 7, signal: bool = True, post_outcome_signal: bool = False
) -> History:
    """Leads whose pre-outcome behaviour predicts the outcome (when `signal`)."""
    rng = np.random.default_rng(seed)
    leads: list[Lead] = []
    activities: list[Activity] = []
    outcomes: list[Outcome] = []
    for i in range(n):
        key = f"crm:{i}"
        created = T0 + timedelta(days=float(rng.uniform(0, 300)))
        intent = float(rng.normal())
        p_win = 1.0 / (1.0 + np.exp(-(3.0 * intent - 1.0))) if signal else 0.3
        won = bool(rng.random() < p_win)
        decided = created + timedelta(days=float(rng.uniform(20, 60)))
        leads.append(
            Lead(
                key=key,
                email=f"p{i}@{'gmail.com' if rng.random() < 0.5 else 'corp.ch'}",
                company_size=int(rng.integers(1, 500)),
                created_at=created,
            )
        )

        def act(kind: str, channel: Channel, at: datetime, key: str = key, **kw: object) -> None:
            activities.append(
                Activity(
                    lead_key=key,
                    channel=channel,
                    kind=kind,
                    occurred_at=at,
                    source="test",
                    **kw,  # type: ignore[arg-type]
                )
            )

        span = (decided - created).total_seconds()
        lam = float(np.exp(1.0 * intent)) if signal else 1.0
        for _ in range(int(rng.poisson(2 * lam))):
            at = created + timedelta(seconds=float(rng.uniform(0, span)))
            act("page_view:rates", Channel.WEB, at, value=float(rng.uniform(10, 200)))
        if rng.random() < (0.8 if (signal and intent > 0) else 0.3):
            at = created + timedelta(seconds=float(rng.uniform(0, span)))
            prop = float(rng.uniform(300_000, 900_000))
            ltv = float(
                rng.uniform(0.5, 0.8) if intent > 0 or not signal else rng.uniform(0.8, 1.1)
            )
            act(
                "simulator_use",
                Channel.WEB,
                at,
                value=ltv * prop,
                attributes={"property_value": prop},
            )
        for _ in range(int(rng.poisson(3))):
            at = created + timedelta(seconds=float(rng.uniform(0, span)))
            act("email_open", Channel.EMAIL, at)
        if post_outcome_signal and won:
            for d in range(1, 6):
                act("page_view:pricing", Channel.WEB, decided + timedelta(days=d))
                act("meeting_request", Channel.OFFLINE, decided + timedelta(days=d))
        act(
            "call_completed",
            Channel.PHONE,
            decided - timedelta(hours=1),
            value=600.0 if won else 30.0,
        )
        status = OutcomeStatus.WON if won else OutcomeStatus.LOST
        outcomes.append(Outcome(lead_key=key, status=status, at=decided, source="test"))
    return History(leads, activities, outcomes, T0 + timedelta(days=400))


@pytest.fixture(scope="session")
def history() -> History:
    return make_history()


def write_csv(path: Path, header: list[str], rows: list[list[str]], sep: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=sep)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_leads_csv(path: Path, n: int = 800, *, seed: int = 3, sep: str = ",") -> Path:
    """An X-Education-like export: numeric + categorical + 'Select' + a leaking Tags column."""
    rng = np.random.default_rng(seed)
    rows: list[list[str]] = []
    for i in range(n):
        minutes = float(rng.exponential(10))
        source = str(rng.choice(["Google", "Direct", "Referral", "Olark"]))
        occupation = str(rng.choice(["Working", "Student", "Select", "Unemployed"]))
        z = (
            0.25 * minutes
            - 2
            + (1.5 if source == "Referral" else 0)
            + (1 if occupation == "Working" else 0)
        )
        converted = rng.random() < 1 / (1 + np.exp(-z))
        tag = "Closed by sales" if converted else "Ringing"
        if rng.random() < 0.05:
            tag = "Ringing"
        day = (datetime(2024, 1, 1) + timedelta(days=i // 4)).date().isoformat()
        rows.append(
            [
                f"id-{i:05d}",
                f"{minutes:.1f}".replace(".", ",") if sep == ";" else f"{minutes:.1f}",
                source,
                occupation,
                tag,
                day,
                "1" if converted else "0",
            ]
        )
    header = ["Prospect ID", "Minutes", "Lead Source", "Occupation", "Tags", "Created", "Converted"]
    return write_csv(path, header, rows, sep)


@pytest.fixture
def leads_csv(tmp_path: Path) -> Path:
    return make_leads_csv(tmp_path / "leads.csv")


@pytest.fixture
def csv_factory(tmp_path: Path) -> Callable[..., Path]:
    def build(name: str, header: list[str], rows: list[list[str]], sep: str = ",") -> Path:
        return write_csv(tmp_path / name, header, rows, sep)

    return build


@pytest.fixture(scope="session")
def leads_csv_maker() -> Callable[..., Path]:
    return make_leads_csv


@pytest.fixture(scope="session")
def history_maker() -> Callable[..., History]:
    return make_history
