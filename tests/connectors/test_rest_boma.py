"""The boma profile end to end, over real HTTP against the BOMA emulator."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from leadbridge.connectors.rest import (
    InboundMessage,
    RestConnector,
    RestProfile,
    parse_profile,
    parse_settings,
)
from leadbridge.core.errors import AuthError, ConfigError, MalformedResponse
from leadbridge.core.models import Bookmark, OutcomeStatus, Page, ScoreWrite
from leadbridge.core.protocols import CallStats, Connector, SupportsWriteBack
from leadbridge.emulators.boma import BomaEmulator, BomaLimits, add_same_timestamp, generate_boma
from leadbridge.emulators.boma.store import BomaStore
from leadbridge.emulators.common.timefmt import to_ms
from leadbridge.sync.writeback import SCORE_FIELDS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIE_MS = to_ms(datetime(2026, 2, 20, 9, 30, tzinfo=UTC))


def boma_data(limit: int = 25, **changes: Any) -> dict[str, Any]:
    data = tomllib.loads(resources.files("leadbridge.mappings").joinpath("boma.toml").read_text())
    for stream in data["streams"].values():
        stream["pagination"]["limit"] = limit
    data.update(changes)
    return data


def boma_profile(limit: int = 25) -> RestProfile:
    return parse_profile(boma_data(limit), file="boma-test.toml")


def connect(emu: BomaEmulator, profile: RestProfile | None = None, **extra: Any) -> RestConnector:
    settings = parse_settings(
        {
            "profile": "boma",
            "base_url": emu.base_url + "/v1",
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "retry_base_s": 0.01,
            "retry_cap_s": 0.05,
            **extra,
        }
    )
    return RestConnector(profile or boma_profile(), settings)


@pytest.fixture
def store() -> BomaStore:
    data = generate_boma(150, seed=11, now=NOW, invalid_every=50)
    add_same_timestamp(data, 40, TIE_MS)
    return data


@pytest.fixture
def emu(store: BomaStore) -> Iterator[BomaEmulator]:
    with BomaEmulator(store, limits=BomaLimits(requests=1000)) as emulator:
        yield emulator


@pytest.fixture
def boma(emu: BomaEmulator) -> Iterator[RestConnector]:
    connector = connect(emu)
    yield connector
    connector.close()


def lead_ids(pages: list[Page]) -> list[str]:
    return [lead.source_ids["boma"] for page in pages for lead in page.leads]


def valid_lead_ids(store: BomaStore) -> set[str]:
    return {
        str(i)
        for i, row in store.leads.items()
        if "@" in row.email
        and "[at]" not in row.email
        and not isinstance(row.requested_amount, str)
    }


def test_implements_the_protocols(boma: RestConnector) -> None:
    assert isinstance(boma, Connector)
    assert isinstance(boma, SupportsWriteBack)
    assert isinstance(boma, CallStats)
    assert boma.max_batch == 1
    boma.check()


def test_full_pull_equals_the_emulator(boma: RestConnector, store: BomaStore) -> None:
    pages = list(boma.read("leads", None))
    ids = lead_ids(pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == valid_lead_ids(store)
    rejected = {r.record_id for p in pages for r in p.rejects}
    assert rejected == set(map(str, store.leads)) - valid_lead_ids(store)
    assert rejected, "the generator plants invalid leads"
    assert all(p.bookmark is not None for p in pages)

    lead = next(lead for p in pages for lead in p.leads if lead.key == "boma:100001")
    row = store.leads[100001]
    assert lead.email == row.email
    assert lead.region == row.canton
    assert lead.custom["requested_amount"] == row.requested_amount
    assert lead.custom["job_status"] == row.job_status
    assert lead.updated_at is not None
    assert to_ms(lead.updated_at) == row.updated_ms

    outcomes = {o.lead_key: o for p in pages for o in p.outcomes}
    expected = {"Accord": OutcomeStatus.WON, "Refusée": OutcomeStatus.LOST}
    expected["Instruction"] = OutcomeStatus.OPEN
    with_dossier = [r for r in store.leads.values() if r.dossier_status in expected]
    assert with_dossier
    for row in with_dossier:
        if str(row.lead_id) in valid_lead_ids(store):
            outcome = outcomes[f"boma:{row.lead_id}"]
            assert outcome.status is expected[row.dossier_status or ""]
            assert outcome.detail == row.dossier_status


def test_activities_map_to_canonical_kinds(boma: RestConnector, store: BomaStore) -> None:
    pages = list(boma.read("activities", None))
    mapped = {a.source_id: a for p in pages for a in p.activities}
    rejected = {r.record_id for p in pages for r in p.rejects}
    skipped = {
        str(i)
        for i, row in store.activities.items()
        if row.type == "call" and row.data.get("result") == "no_answer"
    }
    assert set(mapped) | rejected | skipped == set(map(str, store.activities))
    assert not set(mapped) & rejected
    assert len(rejected) == sum(
        1 for r in store.activities.values() if r.lead_id is None or r.occurred_raw
    )
    sim = next(a for a in mapped.values() if a.kind == "simulator_use")
    row = store.activities[int(sim.source_id or 0)]
    assert sim.value == row.data["requested_amount"]
    assert sim.attributes["property_value"] == row.data["property_value"]
    rates = [a for a in mapped.values() if a.kind == "page_view:rates"]
    assert rates
    assert all(a.value == store.activities[int(a.source_id or 0)].data["seconds"] for a in rates)
    kinds = {a.kind for a in mapped.values()}
    assert {"page_view:other", "content_download", "call_completed"} <= kinds


def test_resume_from_every_checkpoint_loses_nothing(boma: RestConnector, store: BomaStore) -> None:
    pages = list(boma.read("leads", None))
    everything = set(lead_ids(pages))
    tied = {str(i) for i, row in store.leads.items() if row.updated_ms == TIE_MS}
    assert len(tied) == 40
    assert tied <= everything
    # Pages of 25 split the 40 leads sharing one timestamp: the tie-break must hold.
    assert sum(1 for p in pages if p.bookmark and to_ms(p.bookmark.value) == TIE_MS) >= 2
    seen: list[str] = []
    for page in pages:
        seen.extend(lead.source_ids["boma"] for lead in page.leads)
        resumed = lead_ids(list(boma.read("leads", page.bookmark)))
        assert set(seen) | set(resumed) == everything
        assert not set(resumed) & set(seen), "records before the bookmark came back"


def test_incremental_pull_returns_exactly_the_changes(
    boma: RestConnector, emu: BomaEmulator
) -> None:
    last = list(boma.read("leads", None))[-1].bookmark
    last_activity = list(boma.read("activities", None))[-1].bookmark
    changed = set(emu.mutate(0.05, seed=3))
    pages = list(boma.read("leads", last))
    rejected = {r.record_id for p in pages for r in p.rejects}
    assert set(lead_ids(pages)) | rejected == changed
    activities = [a for p in boma.read("activities", last_activity) for a in p.activities]
    assert {a.lead_key for a in activities} <= {f"boma:{i}" for i in changed}
    assert activities, "mutations add an activity per lead"


def test_throttling_storm_still_completes(emu: BomaEmulator, store: BomaStore) -> None:
    emu.faults.rate_429 = 0.35
    emu.faults.retry_after_s = 0
    connector = connect(emu)
    assert set(lead_ids(list(connector.read("leads", None)))) == valid_lead_ids(store)
    assert emu.ledger.statuses().get(429, 0) > 0
    connector.close()


def test_server_error_storm_still_completes(emu: BomaEmulator, store: BomaStore) -> None:
    emu.faults.rate_5xx = 0.3
    connector = connect(emu)
    assert set(lead_ids(list(connector.read("leads", None)))) == valid_lead_ids(store)
    assert sum(n for s, n in emu.ledger.statuses().items() if s >= 500) > 0
    connector.close()


def test_real_rate_limit_is_paced_from_headers(store: BomaStore) -> None:
    with BomaEmulator(store, limits=BomaLimits(requests=4, window_s=0.5)) as small:
        connector = connect(small)
        assert set(lead_ids(list(connector.read("leads", None)))) == valid_lead_ids(store)
        statuses = small.ledger.statuses()
        # The profile claims 20/s: the first window may overshoot, then the RateLimit-*
        # headers teach the client the real budget.
        assert statuses.get(429, 0) <= 2
        connector.close()


def test_token_expiry_mid_sync(emu: BomaEmulator, store: BomaStore) -> None:
    connector = connect(emu)
    pages = connector.read("leads", None)
    first = next(pages)
    emu.faults.expire_tokens = True
    rest = list(pages)
    assert set(lead_ids([first, *rest])) == valid_lead_ids(store)
    assert emu.authority.issued == 2
    assert emu.ledger.statuses().get(401) == 1
    connector.close()


def test_bad_client_secret_is_an_auth_error(emu: BomaEmulator) -> None:
    connector = connect(emu, client_secret="wrong-secret-value")
    with pytest.raises(AuthError) as info:
        connector.check()
    assert "invalid_client" in str(info.value)
    assert "wrong-secret-value" not in str(info.value)
    connector.close()


def test_malformed_page_is_one_clear_line(emu: BomaEmulator, boma: RestConnector) -> None:
    emu.faults.malformed = 1.0
    emu.faults.malformed_kinds = ("wrong_types",)
    with pytest.raises(MalformedResponse) as info:
        list(boma.read("leads", None))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("boma: GET /leads")
    assert "page token at 'meta.next_cursor' is a list" in message
    for kind in ("truncated_json", "html_error"):
        emu.faults.malformed_kinds = (kind,)
        with pytest.raises(MalformedResponse) as other:
            list(boma.read("leads", None))
        assert "\n" not in str(other.value)
        assert "/v1/leads" in str(other.value)


def test_wrongly_typed_records_become_rejects(emu: BomaEmulator, boma: RestConnector) -> None:
    emu.faults.malformed = 1.0
    emu.faults.malformed_kinds = ("wrong_types",)
    since = Bookmark(
        stream="leads", cursor_field="updated_at", value=datetime(2026, 2, 25, tzinfo=UTC)
    )
    pages = list(boma.read("leads", since))
    rejects = [r for p in pages for r in p.rejects]
    assert len(pages) == 1
    assert rejects
    assert not pages[0].leads
    assert all("\n" not in r.reason and "updated_at" in r.reason for r in rejects)
    assert pages[0].bookmark == since


def test_deletes_are_detected(boma: RestConnector, emu: BomaEmulator) -> None:
    before = list(boma.read("deleted", None))
    mark = before[-1].bookmark if before else None
    gone = emu.delete(["100004", "100009"])
    pages = list(boma.read("deleted", mark))
    assert {d for p in pages for d in p.deleted} == set(gone) == {"100004", "100009"}
    leads = set(lead_ids(list(boma.read("leads", None))))
    assert not leads & set(gone)


def test_write_back_sends_the_seed_000_payload(boma: RestConnector, emu: BomaEmulator) -> None:
    boma.ensure_fields(SCORE_FIELDS)
    result = boma.write(
        [
            ScoreWrite(
                source_id="100002",
                lead_key="boma:100002",
                values={
                    "leadbridge_score": 85,
                    "leadbridge_tier": "hot",
                    "leadbridge_action": "assign_to_human_now",
                    "leadbridge_reasons": "Simulator 3x, LTV 78 %",
                    "leadbridge_scored_at": NOW.isoformat(),
                },
            )
        ]
    )
    assert result.succeeded == ("100002",)
    assert not result.failed
    assert result.calls == 1
    (write,) = emu.ledger.writes()
    assert write.endpoint == "PATCH /v1/leads/{lead_id}"
    assert write.status == 200
    assert write.payload == {
        "lead_id": "100002",
        "custom_fields": {
            "predictive_score": 85,
            "score_cluster": "HOT",
            "recommended_action": "Call_Immediately",
        },
    }
    assert emu.store.leads[100002].custom["score_cluster"] == "HOT"
    assert boma.calls()["write"] == boma.min_calls()["write"] == 1


def test_partial_failure_is_reported_record_by_record(
    boma: RestConnector, emu: BomaEmulator
) -> None:
    def score(source_id: str, action: str) -> ScoreWrite:
        values = {"leadbridge_score": 40, "leadbridge_tier": "warm", "leadbridge_action": action}
        return ScoreWrite(source_id=source_id, lead_key=f"boma:{source_id}", values=values)

    result = boma.write(
        [
            score("100003", "nurture_bot_followup"),
            score("999999", "nurture_bot"),
            score("100006", "invented_action"),
        ]
    )
    assert result.succeeded == ("100003",)
    assert set(result.failed) == {"999999", "100006"}
    assert "404" in result.failed["999999"]
    assert "not found" in result.failed["999999"]
    assert "invented_action" in result.failed["100006"]
    assert result.calls == 2  # the unmappable value never left the machine
    statuses = sorted(w.status for w in emu.ledger.writes())
    assert statuses == [200, 404]


def test_unknown_custom_field_is_a_per_record_422(emu: BomaEmulator) -> None:
    data = boma_data()
    data["write"]["ignore"] = ["leadbridge_scored_at"]
    data["write"]["fields"]["leadbridge_reasons"] = {"target": "custom_fields.score_reasons"}
    connector = connect(emu, parse_profile(data, file="x.toml"))
    with pytest.raises(ConfigError) as info:
        connector.ensure_fields(SCORE_FIELDS)
    assert "score_reasons" in str(info.value)
    assert info.value.key == "write.fields"
    values = {"leadbridge_score": 10, "leadbridge_tier": "cold", "leadbridge_reasons": "x"}
    result = connector.write([ScoreWrite(source_id="100001", lead_key="b", values=values)])
    assert "Unknown custom field 'score_reasons'" in result.failed["100001"]
    assert [w.status for w in emu.ledger.writes()] == [422]
    connector.close()


def test_field_verification_twice_is_a_no_op(boma: RestConnector, emu: BomaEmulator) -> None:
    boma.ensure_fields(SCORE_FIELDS)
    boma.ensure_fields(SCORE_FIELDS)
    assert emu.ledger.counts().get("GET /v1/custom-fields") == 1
    assert boma.calls()["setup"] == boma.min_calls()["setup"] == 1


def test_calls_match_the_minimum_without_faults(boma: RestConnector) -> None:
    for stream in boma.streams():
        list(boma.read(stream, None))
    assert boma.calls()["read"] == boma.min_calls()["read"]


def test_inbound_message_round_trip(boma: RestConnector, emu: BomaEmulator) -> None:
    seed = {
        "lead_source": "Whatsapp_Business",
        "message_body": (
            "Bonjour, je voudrais des infos pour un prêt première maison, je suis infirmier"
        ),
        "extracted_data": {
            "job_type": "infirmier",
            "job_category": "fonction_publique",
            "intent": "achat_residence_principale",
        },
        "ai_score": 75,
        "routing_action": "assign_to_human",
    }
    sent = InboundMessage(
        source=seed["lead_source"],
        body=seed["message_body"],
        extracted=seed["extracted_data"],
        score=75,
        routing="assign_to_human",
    )
    message_id = boma.send_message(sent)
    assert message_id is not None
    (write,) = emu.ledger.writes()
    assert write.endpoint == "POST /v1/messages"
    assert write.payload == seed
    back = [m for m in boma.read_messages(NOW) if m.id == message_id]
    assert len(back) == 1
    assert back[0].body == sent.body
    assert back[0].extracted == sent.extracted
    assert back[0].score == 75
    assert back[0].routing == "assign_to_human"


def test_messages_become_chat_activity(boma: RestConnector, store: BomaStore) -> None:
    pages = list(boma.read("messages", None))
    activities = [a for p in pages for a in p.activities]
    assert len(activities) == sum(1 for m in store.messages.values() if m.lead_id)
    assert {a.kind for a in activities} == {"chat_message"}
    assert all(a.attributes["lead_source"] for a in activities)


def test_no_request_the_vendor_would_reject(boma: RestConnector, emu: BomaEmulator) -> None:
    for stream in boma.streams():
        list(boma.read(stream, None))
    boma.ensure_fields(SCORE_FIELDS)
    values = {
        "leadbridge_score": 90,
        "leadbridge_tier": "very_hot",
        "leadbridge_action": "sales_alert",
    }
    boma.write([ScoreWrite(source_id="100010", lead_key="boma:100010", values=values)])
    statuses = emu.ledger.statuses()
    assert set(statuses) == {200}, statuses
    assert all(w.status == 200 for w in emu.ledger.writes())


def test_bookmark_in_epoch_is_sent_in_the_vendor_format(emu: BomaEmulator) -> None:
    connector = connect(emu)
    since = Bookmark(stream="leads", cursor_field="updated_at", value=NOW)
    assert next(iter(connector.read("leads", since))).bookmark == since
    connector.close()


def test_static_bearer_token_profile(emu: BomaEmulator, store: BomaStore) -> None:
    data = boma_data(limit=100)
    data["auth"] = {"type": "bearer"}
    settings = parse_settings(
        {"profile": "boma", "base_url": emu.base_url + "/v1", "token": emu.static_token}
    )
    connector = RestConnector(parse_profile(data, file="bearer.toml"), settings)
    connector.check()
    assert set(lead_ids(list(connector.read("leads", None)))) == valid_lead_ids(store)
    assert emu.authority.issued == 0
    assert "POST /v1/oauth/token" not in emu.ledger.counts()
    wrong = RestConnector(
        parse_profile(data, file="bearer.toml"),
        parse_settings({"profile": "boma", "base_url": emu.base_url + "/v1", "token": "nope-nope"}),
    )
    with pytest.raises(AuthError):
        wrong.check()
    connector.close()
    wrong.close()


def test_boma_batch_endpoint_by_profile_alone(emu: BomaEmulator) -> None:
    data = boma_data()
    data["write"]["batch"] = {
        "path": "/leads/batch",
        "max_size": 50,
        "records_key": "leads",
        "results_path": "results",
        "result_id": "lead_id",
        "success_path": "status",
        "success_values": ["ok"],
        "error_path": "error.message",
    }
    connector = connect(emu, parse_profile(data, file="batch.toml"))
    assert connector.max_batch == 50
    values = {
        "leadbridge_score": 72,
        "leadbridge_tier": "hot",
        "leadbridge_action": "assign_to_human",
    }
    writes = [
        ScoreWrite(source_id=str(100001 + i), lead_key=f"boma:{100001 + i}", values=values)
        for i in range(49)
    ]
    writes.append(ScoreWrite(source_id="42", lead_key="boma:42", values=values))
    result = connector.write(writes)
    assert result.calls == 1
    assert len(result.succeeded) == 49
    assert result.failed == {"42": "Lead 42 not found."}
    assert emu.ledger.counts()["POST /v1/leads/batch"] == 1
    assert emu.store.leads[100030].custom["recommended_action"] == "Call_Today"
    connector.close()
