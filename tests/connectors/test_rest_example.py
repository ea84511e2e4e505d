"""A second REST CRM by profile only: page numbers, offsets, next links, API key, batches."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from leadbridge.connectors.rest import RestConnector, RestProfile, parse_profile, parse_settings
from leadbridge.core.errors import AuthError
from leadbridge.core.models import Page, ScoreWrite
from leadbridge.emulators.boma import BomaEmulator, BomaLimits, add_same_timestamp, generate_boma
from leadbridge.emulators.boma.store import BomaStore
from leadbridge.emulators.common.timefmt import to_ms
from leadbridge.sync.writeback import SCORE_FIELDS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIE_MS = to_ms(datetime(2026, 2, 10, 8, 0, tzinfo=UTC))


def example_profile(size: int = 20) -> RestProfile:
    text = resources.files("leadbridge.mappings").joinpath("rest_example_pagenum.toml").read_text()
    data = tomllib.loads(text)
    data["streams"]["contacts"]["pagination"]["size"] = size
    data["streams"]["events"]["pagination"]["limit"] = size * 3
    data["streams"]["removed"]["pagination"]["limit"] = 2
    return parse_profile(data, file="example-test.toml")


def connect(emu: BomaEmulator, **extra: Any) -> RestConnector:
    settings = parse_settings(
        {
            "profile": "rest_example_pagenum",
            "base_url": emu.base_url + "/example",
            "api_key": emu.api_key,
            "retry_base_s": 0.01,
            "retry_cap_s": 0.05,
            **extra,
        }
    )
    return RestConnector(example_profile(), settings)


@pytest.fixture
def store() -> BomaStore:
    data = generate_boma(120, seed=5, now=NOW, invalid_every=40)
    add_same_timestamp(data, 30, TIE_MS)
    return data


@pytest.fixture
def emu(store: BomaStore) -> Iterator[BomaEmulator]:
    with BomaEmulator(store, limits=BomaLimits(requests=1000)) as emulator:
        yield emulator


@pytest.fixture
def crm(emu: BomaEmulator) -> Iterator[RestConnector]:
    connector = connect(emu)
    yield connector
    connector.close()


def ids(pages: list[Page]) -> list[str]:
    return [lead.source_ids["rest_example"] for page in pages for lead in page.leads]


def test_page_numbered_contacts_equal_the_emulator(crm: RestConnector, store: BomaStore) -> None:
    pages = list(crm.read("contacts", None))
    assert len(pages) == -(-len(store.leads) // 20)
    got = ids(pages)
    rejected = {r.record_id for p in pages for r in p.rejects}
    assert len(got) == len(set(got))
    assert set(got) | rejected == set(map(str, store.leads))
    assert len(rejected) == sum(
        1 for r in store.leads.values() if "[at]" in r.email or isinstance(r.requested_amount, str)
    )
    lead = next(lead for p in pages for lead in p.leads if lead.key == "rest_example:100001")
    assert lead.first_name == store.leads[100001].first_name
    outcomes = {o.lead_key: o.status.value for p in pages for o in p.outcomes}
    for row in store.leads.values():
        key = f"rest_example:{row.lead_id}"
        if row.dossier_status == "Accord" and key in outcomes:
            assert outcomes[key] == "won"
        if row.dossier_status == "Refusée" and key in outcomes:
            assert outcomes[key] == "lost"
    assert "won" in outcomes.values() or "lost" in outcomes.values()


def test_resume_from_every_page_loses_nothing(crm: RestConnector) -> None:
    pages = list(crm.read("contacts", None))
    everything = set(ids(pages))
    seen: list[str] = []
    for page in pages:
        seen.extend(ids([page]))
        resumed = ids(list(crm.read("contacts", page.bookmark)))
        assert set(seen) | set(resumed) == everything
        assert not set(seen) & set(resumed)


def test_offset_paged_events(crm: RestConnector, store: BomaStore) -> None:
    pages = list(crm.read("events", None))
    assert len(pages) == -(-len(store.activities) // 60)
    mapped = {a.source_id for p in pages for a in p.activities}
    rejected = {r.record_id for p in pages for r in p.rejects}
    skipped = {
        str(i)
        for i, r in store.activities.items()
        if r.type == "call" and r.data.get("result") == "no_answer"
    }
    assert mapped | rejected | skipped == set(map(str, store.activities))
    assert all(p.bookmark is not None for p in pages)


def test_next_link_paged_deletions(crm: RestConnector, emu: BomaEmulator) -> None:
    gone = emu.delete([str(i) for i in range(100003, 100010)])
    pages = list(crm.read("removed", None))
    assert len(pages) == 4  # links.next followed, two per page
    assert sorted(d for p in pages for d in p.deleted) == sorted(gone)
    more = emu.delete(["100020"])
    later = list(crm.read("removed", pages[-1].bookmark))
    assert [d for p in later for d in p.deleted] == more


def test_fields_are_created_once(crm: RestConnector, emu: BomaEmulator) -> None:
    crm.ensure_fields(SCORE_FIELDS)
    assert emu.ledger.counts().get("POST /example/properties") == 4
    created = {p["name"]: p["type"] for p in emu.store.example_properties.values()}
    assert created == {
        "lb_score": "number",
        "lb_tier": "text",
        "lb_action": "text",
        "lb_reasons": "textarea",
    }
    crm.ensure_fields(SCORE_FIELDS)
    other = connect(emu)
    other.ensure_fields(SCORE_FIELDS)
    assert emu.ledger.counts().get("POST /example/properties") == 4
    assert emu.ledger.counts().get("GET /example/properties") == 2
    assert crm.min_calls()["setup"] == crm.calls()["setup"] == 5
    assert other.calls()["setup"] == other.min_calls()["setup"] == 1
    other.close()


def test_batched_write_back_record_by_record(crm: RestConnector, emu: BomaEmulator) -> None:
    crm.ensure_fields(SCORE_FIELDS)
    assert crm.max_batch == 25
    writes = [
        ScoreWrite(
            source_id=str(100001 + i),
            lead_key=f"rest_example:{100001 + i}",
            values={
                "leadbridge_score": 30 + i,
                "leadbridge_tier": "warm",
                "leadbridge_action": "active_nurture",
                "leadbridge_reasons": "Rates page 4 min",
                "leadbridge_scored_at": NOW.isoformat(),
            },
        )
        for i in range(24)
    ]
    writes.append(ScoreWrite(source_id="555", lead_key="x", values={"leadbridge_score": 1}))
    result = crm.write(writes)
    assert result.calls == 1
    assert len(result.succeeded) == 24
    assert result.failed == {"555": "Contact 555 does not exist."}
    first = next(w for w in emu.ledger.writes() if w.object_id == "100001")
    assert first.payload == {
        "id": "100001",
        "properties": {
            "lb_score": 30,
            "lb_tier": "warm",
            "lb_action": "active_nurture",
            "lb_reasons": "Rates page 4 min",
        },
    }
    assert emu.store.leads[100005].example_props["lb_score"] == 34
    assert emu.ledger.counts()["POST /example/contacts/batch-update"] == 1
    assert set(emu.ledger.statuses()) <= {200, 201}


def test_write_before_fields_exist_fails_per_record(crm: RestConnector) -> None:
    values = {"leadbridge_score": 50, "leadbridge_tier": "hot"}
    result = crm.write([ScoreWrite(source_id="100001", lead_key="x", values=values)])
    assert "Property 'lb_score' does not exist." in result.failed["100001"]


def test_wrong_api_key_is_an_auth_error(emu: BomaEmulator) -> None:
    connector = connect(emu, api_key="not-the-key")
    with pytest.raises(AuthError) as info:
        connector.check()
    assert "401" in str(info.value)
    assert "not-the-key" not in str(info.value)
    connector.close()


def _variant(emu: BomaEmulator, **contacts: Any) -> RestConnector:
    data = tomllib.loads(
        resources.files("leadbridge.mappings").joinpath("rest_example_pagenum.toml").read_text()
    )
    data["streams"]["contacts"].update(contacts)
    data["streams"]["contacts"]["pagination"]["size"] = 20
    settings = parse_settings(
        {"profile": "x", "base_url": emu.base_url + "/example", "api_key": emu.api_key}
    )
    return RestConnector(parse_profile(data, file="variant.toml"), settings)


def test_unordered_stream_holds_its_bookmark_until_the_end(emu: BomaEmulator) -> None:
    connector = _variant(emu, ordered=False)
    pages = list(connector.read("contacts", None))
    assert all(p.bookmark is None for p in pages[:-1])
    final = pages[-1].bookmark
    assert final is not None
    newest = max(emu.store.leads.values(), key=lambda r: (r.updated_ms, r.lead_id))
    assert to_ms(final.value) == newest.updated_ms
    assert final.tiebreak_id == str(newest.lead_id)
    assert ids(list(connector.read("contacts", final))) == []
    connector.close()


def test_lookback_rereads_the_window_without_tie_break(emu: BomaEmulator) -> None:
    connector = _variant(emu, lookback_s=3600.0)
    last = list(connector.read("contacts", None))[-1].bookmark
    assert last is not None
    again = ids(list(connector.read("contacts", last)))
    window = {
        str(r.lead_id)
        for r in emu.store.leads.values()
        if r.updated_ms >= to_ms(last.value) - 3_600_000
    }
    assert set(again) <= window
    assert last.tiebreak_id in again
    connector.close()
