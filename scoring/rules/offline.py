"""Offline scoring from JSON-lines files, without any CRM (`leadbridge score`).

Events are `Activity` objects, one per line (``channel`` may be omitted for canonical
kinds, ``source`` defaults to ``file``); leads are `Lead` objects keyed by ``key`` (or
``lead_id``). A lead seen only in events is scored with an empty profile.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from leadbridge.core.errors import ScoringError
from leadbridge.core.models import Activity, Lead, ScoreResult
from leadbridge.core.vocabulary import channel_of
from leadbridge.scoring.rules.scorer import RulesScorer

__all__ = ["parse_as_of", "read_events", "read_leads", "result_record", "score_file"]


def parse_as_of(text: str) -> datetime:
    """An ISO 8601 instant; a naive one (no offset) is read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScoringError(f"--as-of: not an ISO 8601 date/time: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ScoringError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ScoringError(f"{path}:{number}: invalid JSON ({exc})") from exc
            if not isinstance(data, dict):
                raise ScoringError(f"{path}:{number}: expected a JSON object")
            yield number, data


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


def read_events(path: Path) -> list[Activity]:
    """Activities from a JSON-lines file; a bad line fails with its line number."""
    events: list[Activity] = []
    for number, data in _lines(path):
        if "lead_key" not in data and "lead_id" in data:
            data["lead_key"] = data.pop("lead_id")
        if "channel" not in data and isinstance(data.get("kind"), str):
            channel = channel_of(data["kind"])
            if channel is not None:
                data["channel"] = channel.value
        data.setdefault("source", "file")
        try:
            events.append(Activity.model_validate(data))
        except ValidationError as exc:
            raise ScoringError(f"{path}:{number}: {_first_error(exc)}") from exc
    return events


def read_leads(path: Path) -> list[Lead]:
    """Leads from a JSON-lines file; a bad line fails with its line number."""
    leads: list[Lead] = []
    for number, data in _lines(path):
        if "key" not in data and "lead_id" in data:
            data["key"] = data.pop("lead_id")
        try:
            leads.append(Lead.model_validate(data))
        except ValidationError as exc:
            raise ScoringError(f"{path}:{number}: {_first_error(exc)}") from exc
    return leads


def score_file(
    scorer: RulesScorer,
    events_path: Path,
    *,
    as_of: datetime,
    leads_path: Path | None = None,
    only: str | None = None,
) -> list[ScoreResult]:
    """Score every lead found in the files (or just `only`), sorted by lead key."""
    events = read_events(events_path)
    leads = {lead.key: lead for lead in read_leads(leads_path)} if leads_path else {}
    by_lead: dict[str, list[Activity]] = {}
    for activity in events:
        by_lead.setdefault(activity.lead_key, []).append(activity)
    keys = sorted(set(leads) | set(by_lead))
    if only is not None:
        if only not in keys:
            raise ScoringError(f"lead '{only}' is in neither the events nor the leads file")
        keys = [only]
    items = [(leads.get(key) or Lead(key=key), by_lead.get(key, [])) for key in keys]
    return scorer.score_many(items, as_of=as_of)


def result_record(result: ScoreResult) -> dict[str, Any]:
    """The JSON object `leadbridge score --json` prints for one lead."""
    return {
        "lead_id": result.lead_key,
        "score": result.score,
        "fit": result.fit,
        "intent": result.intent,
        "tier": result.tier,
        "stage": result.stage,
        "action": result.action,
        "routing": result.routing,
        "summary": result.summary,
        "reasons": [r.model_dump(mode="json") for r in result.reasons],
        "config_version": result.config_version,
        "as_of": result.computed_at.isoformat(),
    }
