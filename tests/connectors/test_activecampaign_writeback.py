from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from leadbridge.connectors.activecampaign import ActiveCampaignConnector, from_settings
from leadbridge.core.models import ScoreWrite
from leadbridge.emulators.activecampaign import (
    ActiveCampaignEmulator,
    ActiveCampaignLimits,
    generate_activecampaign,
)
from leadbridge.sync.writeback import SCORE_FIELDS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BULK = "POST /api/3/import/bulk_import"
_OPEN: list[ActiveCampaignConnector] = []


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def emulator(n: int = 40, **limits: Any) -> ActiveCampaignEmulator:
    settings: dict[str, Any] = {"requests_per_s": 10_000, "import_delay_s": 0.05, **limits}
    account = generate_activecampaign(n, seed=9, now=NOW)
    return ActiveCampaignEmulator(account, limits=ActiveCampaignLimits(**settings))


@pytest.fixture
def ac() -> Iterator[ActiveCampaignEmulator]:
    with emulator() as emu:
        yield emu


def connect(emu: ActiveCampaignEmulator, **extra: Any) -> ActiveCampaignConnector:
    settings: dict[str, Any] = {
        "base_url": emu.api_url,
        "api_key": emu.api_key,
        "allow_any_base_url": True,
        "budgets": {"default": [10_000, 1.0]},
        "import_poll_interval_s": 0.02,
    }
    settings.update(extra)
    conn = from_settings(settings)
    _OPEN.append(conn)
    return conn


def scores(ids: list[int], score: int = 72) -> list[ScoreWrite]:
    return [
        ScoreWrite(
            source_id=str(i),
            lead_key=f"activecampaign:{i}",
            values={
                "leadbridge_score": score,
                "leadbridge_tier": "hot",
                "leadbridge_action": "call within 24h",
                "leadbridge_reasons": "pricing page x3; demo request",
                "leadbridge_scored_at": NOW.isoformat(),
            },
        )
        for i in ids
    ]


def ready(emu: ActiveCampaignEmulator, **extra: Any) -> ActiveCampaignConnector:
    conn = connect(emu, **extra)
    conn.ensure_fields(SCORE_FIELDS)
    emu.ledger.reset()
    return conn


def test_field_bootstrap_twice_is_a_no_op(ac):
    conn = connect(ac)
    conn.ensure_fields(SCORE_FIELDS)
    counts = ac.ledger.counts()
    assert counts["POST /api/3/fields"] == 5
    assert counts["POST /api/3/fieldRels"] == 5
    score = ac.account.field_by_perstag("LEADBRIDGE_SCORE")
    assert score is not None
    assert score.type == "text"
    assert ac.account.field_by_perstag("LEADBRIDGE_SCORED_AT").type == "datetime"
    assert {(r.field, r.relid) for r in ac.account.field_rels.values()} >= {(score.id, 0)}
    ac.ledger.reset()
    again = connect(ac)
    again.ensure_fields(SCORE_FIELDS)
    assert ac.ledger.counts() == {"GET /api/3/fields": 1}
    assert again.calls()["setup"] == again.min_calls()["setup"] == 1


def test_field_made_by_a_person_is_adopted_by_title(ac):
    ac.account.add_field("leadbridge score", "text", perstag="MY_SCORE")
    conn = connect(ac)
    conn.ensure_fields(SCORE_FIELDS)
    assert ac.account.field_by_perstag("LEADBRIDGE_SCORE") is None
    result = conn.write(scores(list(range(1, 13))))
    assert len(result.succeeded) == 12
    assert ac.account.raw(1)["fields"]["MY_SCORE"] == "72"


def test_bulk_import_splits_out_the_bad_rows_and_the_rest_lands(ac):
    conn = ready(ac)
    ac.account.contacts[5].email = "broken at example.ch"
    ac.account.contacts[17].email = "also-broken"
    ids = list(range(1, 31))
    result = conn.write(scores(ids))
    assert sorted(result.failed) == ["17", "5"]
    assert "email" in result.failed["5"]
    assert "\n" not in result.failed["5"]
    assert sorted(result.succeeded, key=int) == [str(i) for i in ids if i not in (5, 17)]
    assert ac.account.raw(30)["fields"]["LEADBRIDGE_SCORE"] == "72"
    assert "LEADBRIDGE_SCORE" not in ac.account.raw(5)["fields"]
    counts = ac.ledger.counts()
    assert counts[BULK] == 2
    assert ac.ledger.statuses().get(400) == 1
    assert result.calls == conn.calls()["write"]
    assert conn.min_calls()["write"] == 3  # look-up, import, status


def test_rows_refused_while_importing_are_reported_per_record(ac):
    conn = ready(ac)
    ac.account.exclusions.add(ac.account.contacts[8].email.lower())
    result = conn.write(scores(list(range(1, 21))))
    assert result.failed == {"8": "ActiveCampaign refused this contact during the import"}
    assert len(result.succeeded) == 19


def test_small_batches_use_contact_sync_and_phone_only_contacts_go_by_id(ac):
    conn = ready(ac)
    ac.account.contacts[3].email = ""
    ac.account.by_email = {c.email.lower(): i for i, c in ac.account.contacts.items() if c.email}
    result = conn.write(scores([1, 2, 3, 4]))
    assert sorted(result.succeeded) == ["1", "2", "3", "4"]
    counts = ac.ledger.counts()
    assert counts["POST /api/3/contact/sync"] == 3
    assert counts["POST /api/3/fieldValues"] == 5
    assert BULK not in counts
    assert ac.account.raw(3)["fields"]["LEADBRIDGE_TIER"] == "hot"
    assert conn.min_calls()["write"] == 1 + 3 + 5
    ac.account.delete_contact(2)
    gone = conn.write(scores([2], score=10))
    assert "not found" in gone.failed["2"]


def test_contact_sync_refusal_is_per_record(ac):
    conn = ready(ac)
    ac.account.contacts[6].email = "nobody at all"
    result = conn.write(scores([6, 7]))
    assert result.succeeded == ("7",)
    assert "email_invalid" in result.failed["6"]


def test_batch_limits_are_the_vendor_limits():
    with emulator(260) as emu:
        conn = ready(emu)
        with pytest.raises(ValueError, match="at most 250"):
            conn.write(scores(list(range(1, 252))))
        result = conn.write(scores(list(range(1, 251))))
        assert len(result.succeeded) == 250
        assert emu.ledger.counts()[BULK] == 1
        assert emu.ledger.counts()["GET /api/3/contacts"] == 3  # e-mail look-ups, 100 ids each
        assert 400 not in emu.ledger.statuses()
        assert not emu.gateway.violations


@pytest.mark.parametrize("status", [429, 400])
def test_import_rate_limit_is_waited_out(status):
    with emulator(40, imports_per_window=1, import_window_s=1.0, import_limit_status=status) as emu:
        conn = ready(emu, budgets={"default": [10_000, 1.0], "import": [100, 1.0]})
        first = conn.write(scores(list(range(1, 16))))
        second = conn.write(scores(list(range(16, 31))))
        assert len(first.succeeded) + len(second.succeeded) == 30
        assert emu.ledger.statuses().get(status, 0) >= 1
        assert emu.account.raw(30)["fields"]["LEADBRIDGE_SCORE"] == "72"


def test_unknown_field_fails_the_records_clearly(ac):
    conn = connect(ac)
    result = conn.write(scores([1, 2]))
    assert set(result.failed) == {"1", "2"}
    assert "ensure_fields" in result.failed["1"]
