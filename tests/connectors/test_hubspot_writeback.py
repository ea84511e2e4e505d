"""HubSpot write-back against the emulator: property bootstrap and batched updates."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from leadbridge.connectors.hubspot import SCORE_FIELDS, HubSpotConnector
from leadbridge.core.models import FieldSpec, ScoreWrite
from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal

PROPS = "/crm/v3/properties/contacts"


def _connector(hs: HubSpotEmulator) -> HubSpotConnector:
    return HubSpotConnector.from_mapping(
        {"base_url": hs.base_url, "auth": {"kind": "private_app", "token": hs.private_app_token}}
    )


def _score(source_id: str, score: object = 72) -> ScoreWrite:
    return ScoreWrite(
        source_id=source_id,
        lead_key=f"hubspot:{source_id}",
        values={
            "leadbridge_score": score,
            "leadbridge_tier": "hot",
            "leadbridge_action": "call",
            "leadbridge_reasons": "pricing page x3; demo request",
            "leadbridge_scored_at": datetime(2025, 5, 1, 12, tzinfo=UTC).isoformat(),
        },
    )


@pytest.fixture
def hs():
    with HubSpotEmulator(generate_portal(150, seed=3)) as emu:
        yield emu


def test_property_bootstrap_is_idempotent(hs):
    connector = _connector(hs)
    try:
        connector.ensure_fields(SCORE_FIELDS)
        connector.ensure_fields(SCORE_FIELDS)
        second = _connector(hs)
        second.ensure_fields(SCORE_FIELDS)
        second.close()
        for spec in SCORE_FIELDS:
            prop = hs.portal.properties[spec.name]
            assert prop.group_name == "leadbridge"
        assert hs.portal.properties["leadbridge_score"].type == "number"
        assert hs.portal.properties["leadbridge_scored_at"].type == "datetime"
        assert "leadbridge" in hs.portal.groups
        counts = hs.ledger.counts()
        assert counts[f"POST {PROPS}"] == len(SCORE_FIELDS)  # created once, never again
        assert counts[f"POST {PROPS}/groups"] == 1
        assert all(status < 400 for status in hs.ledger.statuses())
        assert connector.calls()["setup"] == connector.min_calls()["setup"]
    finally:
        connector.close()


def test_bootstrap_creates_only_what_is_missing(hs):
    connector = _connector(hs)
    try:
        connector.ensure_fields(SCORE_FIELDS[:2])
        extra = FieldSpec(name="leadbridge_segment", label="Segment", type="enumeration",
                          options=("smb", "enterprise"))  # fmt: skip
        connector.ensure_fields([*SCORE_FIELDS, extra])
        assert hs.ledger.counts()[f"POST {PROPS}"] == len(SCORE_FIELDS) + 1
        segment = hs.portal.properties["leadbridge_segment"]
        assert segment.option_values() == {"smb", "enterprise"}
    finally:
        connector.close()


def test_batch_update_writes_and_counts_calls(hs):
    connector = _connector(hs)
    try:
        connector.ensure_fields(SCORE_FIELDS)
        ids = [str(i) for i in hs.portal.contacts.by_id[:130]]
        results = [connector.write([_score(i) for i in ids[:100]]),
                   connector.write([_score(i, 40) for i in ids[100:]])]  # fmt: skip
        assert [len(r.succeeded) for r in results] == [100, 30]
        assert all(not r.failed and r.calls == 1 for r in results)
        for i in ids[:100]:
            assert hs.portal.contacts.records[int(i)].properties["leadbridge_score"] == "72"
        assert hs.portal.contacts.records[int(ids[-1])].properties["leadbridge_tier"] == "hot"
        writes = connector.calls()["write"]
        assert writes == 2 <= 1.02 * math.ceil(130 / 100)
        assert connector.min_calls()["write"] == math.ceil(130 / 100)
        assert hs.ledger.counts()["POST /crm/v3/objects/contacts/batch/update"] == 2
    finally:
        connector.close()


def test_207_partial_failure_is_resolved_record_by_record(hs):
    connector = _connector(hs)
    try:
        connector.ensure_fields(SCORE_FIELDS)
        good = [str(i) for i in hs.portal.contacts.by_id[:5]]
        batch = [_score(i) for i in good]
        batch.append(_score("987654321"))  # no such contact
        batch.append(_score(str(hs.portal.contacts.by_id[6]), score="very high"))  # not a number
        result = connector.write(batch)
        assert set(result.succeeded) == set(good)
        assert set(result.failed) == {"987654321", str(hs.portal.contacts.by_id[6])}
        assert "not found" in result.failed["987654321"].lower()
        assert "number" in result.failed[str(hs.portal.contacts.by_id[6])]
        assert result.calls == 1
        assert hs.ledger.statuses()[207] == 1
        landed = {w.object_id for w in hs.ledger.writes() if w.status == 200}
        assert landed == set(good)
    finally:
        connector.close()


def test_unknown_property_fails_each_record_with_the_reason(hs):
    connector = _connector(hs)  # no bootstrap: HubSpot refuses unknown properties
    try:
        ids = [str(i) for i in hs.portal.contacts.by_id[:3]]
        result = connector.write([_score(i) for i in ids])
        assert result.succeeded == ()
        assert set(result.failed) == set(ids)
        assert all("does not exist" in reason for reason in result.failed.values())
    finally:
        connector.close()


def test_more_than_100_is_refused_before_any_call(hs):
    connector = _connector(hs)
    try:
        before = hs.ledger.total()
        with pytest.raises(ValueError, match="at most 100"):
            connector.write([_score(str(i)) for i in range(101)])
        assert hs.ledger.total() == before
        assert connector.calls()["write"] == 0
    finally:
        connector.close()
