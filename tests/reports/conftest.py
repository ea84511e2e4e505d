"""Stores with known contents for the KPI tests, and the direct computations they check.

`synthetic_store` writes through the real `StateStore` API (pages, settles, runs) with
leads whose scores, outcomes and stage dates are drawn from a seeded generator, including
the awkward cases: outcomes older than any score, a deleted lead, unscored leads, two
connections. `expected_kpis` recomputes the headline KPIs lead by lead from the store's
own read methods, independently of `leadbridge.reports`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.core.models import (
    Activity,
    Channel,
    Lead,
    Outcome,
    OutcomeStatus,
    Page,
    Reason,
    ScoreResult,
)
from leadbridge.sync.state import StateStore, open_store

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MATURITY_DAYS = 90.0
TIERS = (("cold", 0, 25), ("warm", 26, 50), ("hot", 51, 75), ("very_hot", 76, 100))
HOT = {"hot", "very_hot"}
KINDS = (
    (Channel.WEB, "page_view:pricing"),
    (Channel.WEB, "form_submit"),
    (Channel.EMAIL, "email_click"),
    (Channel.EMAIL, "email_open"),
    (Channel.EVENT, "webinar_attended"),
)


def tier_of(score: int) -> str:
    return next(name for name, low, high in TIERS if low <= score <= high)


def result(key: str, score: int, at: datetime) -> ScoreResult:
    return ScoreResult(
        lead_key=key,
        score=score,
        tier=tier_of(score),
        action="act",
        reasons=(Reason(rule="pricing_page", points=15.0, label="Pricing page viewed"),),
        config_version="test-1",
        computed_at=at,
    )


def fill_store(store: StateStore, *, n: int = 360, seed: int = 3) -> None:
    """Leads over 200 days on two connections, scored once or twice, a third converted."""
    rng = random.Random(seed)
    for connection, share in (("crm-a", 0.7), ("crm-b", 0.3)):
        count = int(n * share)
        leads, acts, outs = [], [], []
        first, second = [], []
        for i in range(count):
            key = f"{connection.split('-')[1]}hub:{i}"
            created = AS_OF - timedelta(days=rng.uniform(1, 200))
            s1 = rng.randint(0, 100)
            custom: dict[str, str | None] = {}
            mql = created + timedelta(days=rng.uniform(0.5, 20))
            if s1 > 40 and mql < AS_OF:
                custom["mql_at"] = mql.isoformat()
                sql = mql + timedelta(days=rng.uniform(1, 25))
                if s1 > 60 and sql < AS_OF:
                    custom["sql_at"] = sql.isoformat()
            leads.append(
                Lead(
                    key=key,
                    source_ids={connection: str(i)},
                    email=f"p{i}@example.ch",
                    source=rng.choice(("ORGANIC", "PAID", "REFERRAL")),
                    language=rng.choice(("fr", "de", "it")),
                    region=rng.choice(("Vaud", "Zürich", "Ticino", None)),
                    owner=rng.choice(("o1", "o2")),
                    created_at=created,
                    custom=custom,
                )
            )
            for _ in range(rng.randint(0, 3)):
                channel, kind = rng.choice(KINDS)
                acts.append(
                    Activity(
                        lead_key=key,
                        channel=channel,
                        kind=kind,
                        occurred_at=created + timedelta(hours=rng.uniform(1, 48)),
                        source=connection,
                        source_id=f"{key}:{len(acts)}",
                    )
                )
            scored = created + timedelta(days=1)
            if i % 40 == 7:
                continue  # never scored
            # Every 25th lead: outcome before its first score (backfilled history).
            leaky = i % 25 == 3
            p_won = 0.05 + 0.6 * s1 / 100
            if rng.random() < p_won:
                at = (
                    created + timedelta(hours=6)
                    if leaky
                    else scored + timedelta(days=rng.uniform(1, 80))
                )
                if at < AS_OF:
                    outs.append(Outcome(lead_key=key, status=OutcomeStatus.WON, at=at, source="t"))
            elif rng.random() < 0.3:
                at = created + timedelta(hours=6) if leaky else scored + timedelta(days=5)
                if at < AS_OF:
                    outs.append(Outcome(lead_key=key, status=OutcomeStatus.LOST, at=at, source="t"))
            first.append(result(key, s1, min(scored, AS_OF)))
            if rng.random() < 0.5:
                s2 = max(0, min(100, s1 + rng.randint(-30, 30)))
                second.append(result(key, s2, AS_OF - timedelta(hours=1)))
        store.stage_page(
            connection,
            Page(
                stream="contacts", leads=tuple(leads), activities=tuple(acts), outcomes=tuple(outs)
            ),
        )
        store.settle(connection, unchanged=[lead.key for lead in leads], history=first)
        store.settle(connection, history=second)
        # One lead deleted in the CRM: it leaves every KPI.
        store.stage_page(connection, Page(stream="contacts", deleted=("5",)))
        run = store.begin_run(connection, "full", AS_OF - timedelta(hours=2))
        report = {
            "connection": connection,
            "mode": "full",
            "status": "ok",
            "started_at": (AS_OF - timedelta(hours=2)).isoformat(),
            "elapsed_s": 12.5,
            "api_calls": {"read": 40 + len(connection), "write": 7, "setup": 3},
            "min_api_calls": {"read": 40, "write": 7},
            "errors": [],
        }
        store.finish_run(run, "ok", json.dumps(report))
    store.settle("crm-b", failed=[("bhub:1", "1", "HTTP 400 invalid value", "{}")])


@pytest.fixture
def synthetic_store(db_url: str) -> Iterator[StateStore]:
    store = open_store(db_url)
    fill_store(store)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[StateStore]:
    store = open_store(tmp_path / "state.db")
    fill_store(store)
    yield store
    store.close()


@dataclass
class Expected:
    """KPIs recomputed one lead at a time from the store's read API."""

    leads: int
    tier_leads: dict[str, int]
    tier_decided: dict[str, int]
    tier_won: dict[str, int]
    hot_decided: int
    hot_won: int
    missed: int
    conversions: int
    leaky: int
    scores: list[tuple[int, bool, bool]]  # (judged score, decided, won)

    def conversion(self, tier: str) -> float | None:
        dec = self.tier_decided.get(tier, 0)
        return self.tier_won.get(tier, 0) / dec if dec else None

    @property
    def precision(self) -> float:
        return self.hot_won / self.hot_decided

    @property
    def false_positive_rate(self) -> float:
        return (self.hot_decided - self.hot_won) / self.hot_decided


def expected_kpis(store: StateStore, *, as_of: datetime = AS_OF) -> Expected:
    exp = Expected(0, {}, {}, {}, 0, 0, 0, 0, 0, [])
    horizon = as_of - timedelta(days=MATURITY_DAYS)
    connections = sorted({r["connection"] for r in store.runs()})
    for connection in connections:
        outcomes = {o.lead_key: o for o in store.outcomes(connection)}
        keys = [k for k in _live_keys(store, connection)]
        records = store.load_leads(connection, keys)
        for key in keys:
            history = store.score_history(connection, key)
            if not history:
                continue
            outcome = outcomes.get(key)
            if outcome is None:
                judged = history[-1]
            else:
                before = [h for h in history if h.computed_at <= outcome.at]
                judged = before[-1] if before else history[0]
                exp.leaky += not before
            lead = records[key].lead
            won = outcome is not None and outcome.status == OutcomeStatus.WON
            decided = outcome is not None and outcome.status in (
                OutcomeStatus.WON,
                OutcomeStatus.LOST,
            )
            decided = decided or (lead.created_at is not None and lead.created_at <= horizon)
            exp.leads += 1
            tier = judged.tier
            exp.tier_leads[tier] = exp.tier_leads.get(tier, 0) + 1
            exp.scores.append((judged.score, decided, won))
            if decided:
                exp.tier_decided[tier] = exp.tier_decided.get(tier, 0) + 1
                exp.tier_won[tier] = exp.tier_won.get(tier, 0) + won
                exp.conversions += won
                if tier in HOT:
                    exp.hot_decided += 1
                    exp.hot_won += won
                if tier == "cold" and won:
                    exp.missed += 1
    return exp


def _live_keys(store: StateStore, connection: str) -> list[str]:
    import sqlalchemy as sa

    from leadbridge.sync.state import leads

    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(leads.c.lead_key).where(
                leads.c.connection == connection, leads.c.deleted.is_(False)
            )
        ).all()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class Oracle:
    """What the tests know about the synthetic data (importlib mode: shared via a fixture)."""

    as_of: datetime = AS_OF
    maturity_days: float = MATURITY_DAYS
    kinds: tuple[str, ...] = tuple(kind for _, kind in KINDS)

    def expected(self, store: StateStore) -> Expected:
        return expected_kpis(store, as_of=self.as_of)


@pytest.fixture
def oracle() -> Oracle:
    return Oracle()


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless Chromium driven through Playwright (no browser download).

    Module-scoped on purpose: Playwright's sync driver keeps an event loop running in
    the main thread while it lives, which would break later tests that use asyncio.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_FLAGS)
        yield browser
        browser.close()


@dataclass
class PageCheck:
    """What a page showed: its charts, KPI cells, console errors and outside requests."""

    charts: list[dict[str, object]]
    kpis: list[dict[str, str]]
    errors: list[str]
    outside: list[str]


def open_and_check(browser, url: str, screenshot: Path, *, allowed_prefix: str) -> PageCheck:
    """Load `url`, wait for it, measure every chart and save a full-page screenshot."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(allowed_prefix) else None,
    )
    page.goto(url, wait_until="load")
    charts = page.evaluate(
        """() => Array.from(document.querySelectorAll('figure.chart')).map(f => {
            const svg = f.querySelector('svg');
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return {name: f.dataset.chart, width: box.width, height: box.height,
                    marks: svg ? svg.querySelectorAll('path, rect, line, text, circle').length : 0};
        })"""
    )
    kpis = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-kpi]')).map(e => (
            {name: e.dataset.kpi, value: e.dataset.value, text: e.textContent.trim()}))"""
    )
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return PageCheck(charts, kpis, errors, outside)


@pytest.fixture
def check_page(chromium):
    """`check_page(url, screenshot, allowed_prefix=...)` in the shared headless browser."""

    def run(url: str, screenshot: Path, *, allowed_prefix: str) -> PageCheck:
        return open_and_check(chromium, url, screenshot, allowed_prefix=allowed_prefix)

    return run
