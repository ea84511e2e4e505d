"""Fixtures for the rules-engine tests: activity factories and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadbridge.core.models import Activity, Channel
from leadbridge.core.vocabulary import KINDS

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def act() -> Callable[..., Activity]:
    """Build an activity: act("page_view:pricing", hours=2, lead="l1", count=3)."""

    def make(
        kind: str,
        *,
        lead: str = "hubspot:1",
        at: datetime | None = None,
        days: float = 0,
        hours: float = 0,
        count: int = 1,
        value: float | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Activity:
        moment = at if at is not None else T0 + timedelta(days=days, hours=hours)
        return Activity(
            lead_key=lead,
            channel=KINDS.get(kind, Channel.WEB),
            kind=kind,
            occurred_at=moment,
            source="test",
            count=count,
            value=value,
            attributes=attributes or {},
        )

    return make
