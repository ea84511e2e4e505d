from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadbridge.connectors.activecampaign import (
    ActiveCampaignConnector,
    from_settings,
)
from leadbridge.core.errors import AuthError, ConfigError, MalformedResponse
from leadbridge.core.models import Bookmark, Page
from leadbridge.core.protocols import CallStats, Connector, SupportsWriteBack
from leadbridge.emulators.activecampaign import (
    ActiveCampaignEmulator,
    ActiveCampaignLimits,
    generate_activecampaign,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ac() -> Iterator[ActiveCampaignEmulator]:
    limits = ActiveCampaignLimits(requests_per_s=10_000)
    with ActiveCampaignEmulator(generate_activecampaign(60, seed=5, now=NOW), limits=limits) as emu:
        yield emu


_OPEN: list[ActiveCampaignConnector] = []


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def connect(emu: ActiveCampaignEmulator, **extra: Any) -> ActiveCampaignConnector:
    known = extra.pop("known_ids", None)
    settings: dict[str, Any] = {
        "base_url": emu.api_url,
        "api_key": emu.api_key,
        "allow_any_base_url": True,
        "budgets": {"default": [10_000, 1.0]},
        "import_poll_interval_s": 0.05,
    }
    settings.update(extra)
    conn = from_settings(settings, known_ids=known)
    _OPEN.append(conn)
    return conn


def pull(conn: ActiveCampaignConnector, stream: str, since: Bookmark | None) -> list[Page]:
    return list(conn.read(stream, since))


def leads_of(pages: list[Page]) -> dict[str, Any]:
    return {lead.source_ids["activecampaign"]: lead for p in pages for lead in p.leads}


def test_protocols_and_full_pull_equals_the_account(ac):
    conn = connect(ac)
    assert isinstance(conn, Connector)
    assert isinstance(conn, SupportsWriteBack)
    assert isinstance(conn, CallStats)
    pages = pull(conn, "contacts", None)
    got = leads_of(pages)
    rejected = {r.record_id for p in pages for r in p.rejects}
    assert set(got) | rejected == {str(i) for i in ac.account.contacts}
    contact = ac.account.contacts[4]
    lead = got["4"]
    assert lead.key == "activecampaign:4"
    assert lead.email == contact.email.lower()
    assert lead.updated_at == datetime.fromtimestamp(contact.udate, UTC)
    assert lead.updated_at.utcoffset() == timedelta(0)
    raw = ac.account.raw(4)["fields"]
    assert lead.company == raw.get("COMPANY")
    assert lead.language == raw.get("LANGUAGE")
    expected = len(ac.account.activities.get(4, [])) + len(ac.account.tracking.get(4, []))
    mapped = [a for p in pages for a in p.activities if a.lead_key == "activecampaign:4"]
    assert len(mapped) == expected
    kinds = {a.kind for p in pages for a in p.activities}
    assert {"email_open", "page_view:pricing", "page_view:home", "email_click"} <= kinds
    assert all(p.bookmark is not None for p in pages)
    assert pages[-1].bookmark.tiebreak_id is None
    assert pages[-1].bookmark.value == max(lead.updated_at for lead in got.values())
    # exact accounting: 1 contacts page + 3 calls per contact, one catalog page
    assert conn.calls() == {"read": 1 + 3 * 60, "write": 0, "setup": 1}
    assert conn.min_calls() == conn.calls()


def test_resume_from_every_checkpoint_loses_nothing(ac):
    conn = connect(ac, page_size=7, enrich=["field_values"])
    pages = pull(conn, "contacts", None)
    everything = set(leads_of(pages)) | {r.record_id for p in pages for r in p.rejects}
    assert len(pages) > 5
    for i, page in enumerate(pages[:-1]):
        before = set(leads_of(pages[: i + 1])) | {
            r.record_id for p in pages[: i + 1] for r in p.rejects
        }
        resumed = pull(connect(ac, page_size=7, enrich=["field_values"]), "contacts", page.bookmark)
        after = set(leads_of(resumed)) | {r.record_id for p in resumed for r in p.rejects}
        assert before | after == everything
        assert not before & after, "a resumed read starts after the checkpoint"


def test_many_contacts_sharing_one_udate_are_read_exactly_once(ac):
    conn = connect(ac, page_size=10, enrich=[])
    first = pull(conn, "contacts", None)
    ts = int((NOW + timedelta(hours=1)).timestamp())
    tied = ac.account.same_udate(35, ts)
    pages = pull(conn, "contacts", first[-1].bookmark)
    ids = [lead.source_ids["activecampaign"] for p in pages for lead in p.leads]
    assert len(ids) == len(set(ids))
    assert {str(i) for i in tied} <= set(ids)
    assert pages[-1].bookmark.value == datetime.fromtimestamp(ts, UTC)
    # inclusive or strict `updated_after`: the overlap keeps the tied rows either way
    again = pull(conn, "contacts", pages[-1].bookmark)
    assert {str(i) for i in tied} <= set(leads_of(again))


def test_incremental_pull_reads_changed_contacts_and_their_new_activity(ac):
    conn = connect(ac)
    first = pull(conn, "contacts", None)
    changed = ac.mutate(0.1, seed=3)
    # the cursor of a finished read sits at the newest udate; mutations are newer
    bookmark = first[-1].bookmark
    before = conn.calls()["read"]
    pages = pull(conn, "contacts", bookmark)
    got = leads_of(pages)
    assert set(changed) <= set(got)
    assert len(got) < 20, "only changed contacts (plus the overlap window) are re-read"
    new = [a for p in pages for a in p.activities if a.lead_key == f"activecampaign:{changed[0]}"]
    assert any(a.kind == "email_open" for a in new)
    assert all(a.occurred_at >= bookmark.value - timedelta(seconds=120) for a in new)
    assert conn.calls()["read"] - before == 1 + 3 * len(got)


@pytest.mark.parametrize(
    "faults",
    [
        {"rate_throttle": 0.3, "retry_after_s": 0},
        {"rate_throttle": 0.3, "throttle_status": 503},
        {"rate_5xx": 0.3},
    ],
    ids=["429-storm", "503-throttle-mode", "5xx-storm"],
)
def test_storms_still_complete(ac, faults):
    expected = leads_of(pull(connect(ac, enrich=[], page_size=5), "contacts", None))
    for name, value in faults.items():
        setattr(ac.faults, name, value)
    conn = connect(ac, enrich=[], page_size=5)
    conn.api.http.retry = type(conn.api.http.retry)(base_s=0.01, cap_s=0.05, max_attempts=12)
    got = leads_of(pull(conn, "contacts", None))
    assert got == expected
    statuses = ac.ledger.statuses()
    if "rate_5xx" in faults:
        assert sum(n for status, n in statuses.items() if status >= 500) > 0
    else:
        assert statuses.get(faults.get("throttle_status", 429), 0) > 0


def test_real_rate_limit_is_paced_from_headers():
    limits = ActiveCampaignLimits(requests_per_s=5)
    with ActiveCampaignEmulator(generate_activecampaign(12, seed=1, now=NOW), limits=limits) as emu:
        conn = connect(emu, enrich=["tracking_logs"], budgets={"default": [5, 1.0]}, page_size=4)
        got = leads_of(pull(conn, "contacts", None))
        assert len(got) == 12
        throttled = emu.ledger.statuses().get(429, 0)
        assert throttled <= 1, f"proactive pacing should avoid 429s, got {throttled}"


def test_malformed_page_is_one_clear_error_and_truncation_is_retried(ac):
    ac.faults.malformed = 1.0
    ac.faults.malformed_kinds = ("wrong_types",)
    conn = connect(ac)
    with pytest.raises(MalformedResponse) as info:
        pull(conn, "contacts", None)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("activecampaign:")
    ac.faults.malformed = 0.15
    ac.faults.malformed_kinds = ("truncated_json", "html_error")
    ac.faults.seed = 4
    conn = connect(ac, enrich=[])
    got = leads_of(pull(conn, "contacts", None))
    assert len(got) == 60 - len([c for c in ac.account.contacts.values() if " at " in c.email])


def test_revoked_key_mid_sync_fails_cleanly_and_resumes_with_a_new_key(ac):
    conn = connect(ac, page_size=10, enrich=[])
    conn.check()
    reader = conn.read("contacts", None)
    seen = [next(reader), next(reader)]
    ac.rotate_keys("fresh-key-123456")
    with pytest.raises(AuthError) as info:
        seen.extend(reader)
    assert "403" in str(info.value)
    assert "fresh-key" not in str(info.value)
    with pytest.raises(AuthError):
        conn.check()
    resumed = pull(
        connect(ac, page_size=10, enrich=[], api_key="fresh-key-123456"),
        "contacts",
        seen[-1].bookmark,
    )
    ids = set(leads_of(seen)) | set(leads_of(resumed))
    assert ids | {r.record_id for p in seen + resumed for r in p.rejects} == {
        str(i) for i in ac.account.contacts
    }


def test_deletes_are_found_by_the_sweep_and_gated_by_its_interval(ac):
    known = {str(i) for i in ac.account.contacts}
    conn = connect(ac, page_size=25, known_ids=lambda: known)
    for contact_id in (3, 26, 60):
        ac.account.delete_contact(contact_id)
    pages = pull(conn, "deletes", None)
    assert sorted(d for p in pages for d in p.deleted) == ["26", "3", "60"]
    assert [p.bookmark.tiebreak_id is None for p in pages] == [False, False, False, True]
    calls = conn.calls()["read"]
    assert calls == 3
    # within the interval the sweep costs nothing
    assert pull(conn, "deletes", pages[-1].bookmark)[0].deleted == ()
    assert conn.calls()["read"] == calls
    # resuming an interrupted sweep continues above its last id
    ac.account.delete_contact(55)
    resumed = pull(conn, "deletes", pages[0].bookmark)
    assert sorted(d for p in resumed for d in p.deleted) == ["55", "60"]
    # without a provider, a fresh instance knows no ids yet: its first sweep is a baseline
    stale = pull(connect(ac, enrich=[], delete_sweep_interval_s=0), "deletes", pages[-1].bookmark)
    assert [p.deleted for p in stale] == [()] * len(stale)  # nothing known in a fresh instance


def test_settings_errors_name_the_key():
    with pytest.raises(ConfigError) as info:
        from_settings({"base_url": "http://127.0.0.1:9/api/3", "api_key": "k" * 10})
    assert info.value.key == "base_url"
    with pytest.raises(ConfigError) as info:
        from_settings({"account": "acme"})
    assert info.value.key == "api_key"
    with pytest.raises(ConfigError) as info:
        from_settings({"api_key": "k" * 10})
    assert info.value.key == "account"
    with pytest.raises(ConfigError) as info:
        from_settings({"account": "acme", "api_key": "k" * 10, "event_kinds": {"x": "dance"}})
    assert info.value.key == "event_kinds"
    conn = from_settings({"account": "acme", "api_key": "secret-key-1234"})
    _OPEN.append(conn)
    assert conn.config.api_url == "https://acme.api-us1.com/api/3"
    assert "secret-key-1234" not in repr(conn.config)
