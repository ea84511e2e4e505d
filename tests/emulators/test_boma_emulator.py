"""The BOMA emulator on its own: shapes, status codes, limits, paging, faults, admin routes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from leadbridge.emulators.boma import (
    BomaEmulator,
    BomaLimits,
    add_same_timestamp,
    generate_boma,
)
from leadbridge.emulators.boma.views import activity_json, lead_json

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def emu() -> Iterator[BomaEmulator]:
    store = generate_boma(80, seed=3, now=NOW)
    add_same_timestamp(store, 23, 1_767_225_600_000)
    with BomaEmulator(store, limits=BomaLimits(requests=10_000)) as emulator:
        yield emulator


@pytest.fixture
def api(emu: BomaEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.static_token}"}
    with httpx.Client(base_url=emu.base_url + "/v1", headers=headers, timeout=10) as client:
        yield client


def test_generator_is_deterministic_and_mixed() -> None:
    one = generate_boma(600, seed=9, now=NOW)
    two = generate_boma(600, seed=9, now=NOW)
    assert [lead_json(r) for r in one.leads.values()] == [lead_json(r) for r in two.leads.values()]
    assert [activity_json(a) for a in one.activities.values()] == [
        activity_json(a) for a in two.activities.values()
    ]
    statuses = Counter(r.dossier_status for r in one.leads.values())
    assert statuses["Instruction"]
    assert statuses["Accord"]
    assert statuses["Refusée"]
    assert statuses[None] > len(one.leads) / 2
    cantons = {r.canton for r in one.leads.values() if r.country == "CH"}
    assert len(cantons) >= 8
    assert {r.language for r in one.leads.values()} == {"fr", "de", "it", "en"}
    assert any(r.phone.startswith("+41") for r in one.leads.values())
    invalid = [
        r for r in one.leads.values() if "[at]" in r.email or isinstance(r.requested_amount, str)
    ]
    assert len(invalid) == 1  # every 500th of 600, i.e. ~0.2 %
    assert len(one.deletions) == 1
    per_lead = Counter(a.lead_id for a in one.activities.values())
    assert max(per_lead.values()) >= 12
    assert min(per_lead.get(i, 0) for i in one.leads) == 0


def test_client_credentials_token(emu: BomaEmulator) -> None:
    url = emu.base_url + "/v1/oauth/token"
    basic = httpx.post(
        url, data={"grant_type": "client_credentials"}, auth=(emu.client_id, emu.client_secret)
    )
    assert basic.status_code == 200
    assert basic.headers["cache-control"] == "no-store"
    body = basic.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    form = httpx.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
        },
    )
    assert form.status_code == 200
    wrong = httpx.post(url, data={"grant_type": "client_credentials"}, auth=(emu.client_id, "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    grant = httpx.post(
        url, data={"grant_type": "password"}, auth=(emu.client_id, emu.client_secret)
    )
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"
    token = body["access_token"]
    leads = httpx.get(emu.base_url + "/v1/leads", headers={"Authorization": f"Bearer {token}"})
    assert leads.status_code == 200
    emu.authority.expire_all()
    expired = httpx.get(emu.base_url + "/v1/leads", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert expired.json()["code"] == "unauthorized"
    assert httpx.get(emu.base_url + "/v1/leads").status_code == 401


def test_cursor_paging_is_exact_across_ties(api: httpx.Client, emu: BomaEmulator) -> None:
    seen: list[str] = []
    cursor = None
    calls = 0
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = api.get("/leads", params=params).json()
        calls += 1
        seen.extend(lead["lead_id"] for lead in body["data"])
        cursor = body["meta"].get("next_cursor")
        if not cursor:
            break
    ordered = sorted(emu.store.leads.values(), key=lambda r: (r.updated_ms, r.lead_id))
    assert seen == [str(r.lead_id) for r in ordered]
    assert calls == -(-len(ordered) // 7)
    since = api.get("/leads", params={"updated_since": "2026-01-01T00:00:00.000Z", "limit": 200})
    assert [r["lead_id"] for r in since.json()["data"]][:23] == [
        str(i) for i in range(100081, 100104)
    ]
    assert api.get("/leads", params={"cursor": "%%%"}).status_code == 400
    too_big = api.get("/leads", params={"limit": 201})
    assert too_big.status_code == 400
    assert too_big.json()["details"][0]["field"] == "limit"
    assert api.get("/leads", params={"updated_since": "yesterday"}).status_code == 400


def test_patch_validates_custom_fields(api: httpx.Client, emu: BomaEmulator) -> None:
    before = emu.store.leads[100002].updated_ms
    unknown = api.patch(
        "/leads/100002", json={"custom_fields": {"predictive_score": 80, "lead_temperature": "HOT"}}
    )
    assert unknown.status_code == 422
    assert unknown.json()["details"] == [
        {"field": "custom_fields.lead_temperature", "issue": "unknown_field"}
    ]
    assert emu.store.leads[100002].custom["predictive_score"] is None  # nothing applied
    assert (
        api.patch("/leads/100002", json={"custom_fields": {"predictive_score": 101}}).status_code
        == 422
    )
    assert (
        api.patch("/leads/100002", json={"custom_fields": {"score_cluster": "TIEDE"}}).status_code
        == 422
    )
    assert (
        api.patch("/leads/100002", json={"lead_id": "100003", "custom_fields": {}}).status_code
        == 422
    )
    assert api.patch("/leads/100002", json={"first_name": "X"}).status_code == 422
    assert api.patch("/leads/4242", json={"custom_fields": {}}).status_code == 404
    assert api.patch("/leads/100002", content=b"{not json").status_code == 400
    ok = api.patch(
        "/leads/100002",
        json={
            "lead_id": "100002",
            "custom_fields": {
                "predictive_score": 85,
                "score_cluster": "HOT",
                "recommended_action": "Call_Immediately",
            },
        },
    )
    assert ok.status_code == 200
    assert ok.json()["custom_fields"]["score_cluster"] == "HOT"
    assert emu.store.leads[100002].updated_ms > before
    statuses = [w.status for w in emu.ledger.writes()]
    assert statuses == [422, 422, 422, 422, 422, 404, 200]


def test_batch_endpoint_answers_per_record(api: httpx.Client, emu: BomaEmulator) -> None:
    updates = [
        {"lead_id": "100001", "custom_fields": {"predictive_score": 12}},
        {"lead_id": "100001", "custom_fields": {"predictive_score": 13}},
        {"lead_id": "9", "custom_fields": {"predictive_score": 14}},
        {"lead_id": "100004", "custom_fields": {"nope": 1}},
    ]
    mixed = api.post("/leads/batch", json={"leads": updates})
    assert mixed.status_code == 207
    results = mixed.json()["results"]
    assert [r["status"] for r in results] == ["ok", "error", "error", "error"]
    assert results[1]["error"]["details"][0]["issue"] == "duplicate"
    assert results[2]["error"]["code"] == "not_found"
    too_many = [{"lead_id": "100001", "custom_fields": {}}] * 51
    assert api.post("/leads/batch", json={"leads": too_many}).status_code == 400
    assert api.post("/leads/batch", json={"leads": []}).status_code == 400


def test_rate_limit_headers_and_429() -> None:
    with BomaEmulator(
        generate_boma(5, seed=1, now=NOW), limits=BomaLimits(requests=3, window_s=30)
    ) as emu:
        headers = {"Authorization": f"Bearer {emu.static_token}"}
        answers = [httpx.get(emu.base_url + "/v1/account", headers=headers) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert answers[0].headers["ratelimit-limit"] == "3"
        assert 1 <= int(answers[3].headers["retry-after"]) <= 30
        assert answers[3].json()["code"] == "rate_limited"
        assert emu.ledger.statuses() == {200: 3, 429: 1}


def test_messages_follow_seed_001(api: httpx.Client, emu: BomaEmulator) -> None:
    seed = {
        "lead_source": "Whatsapp_Business",
        "message_body": "Bonjour, je voudrais des infos pour un prêt première maison",
        "extracted_data": {"job_type": "infirmier", "intent": "achat_residence_principale"},
        "ai_score": 75,
        "routing_action": "assign_to_human",
    }
    created = api.post("/messages", json=seed)
    assert created.status_code == 201
    message = created.json()
    assert {k: message[k] for k in seed} == seed
    assert message["lead_id"] is None
    assert api.post("/messages", json={**seed, "ai_score": 101}).status_code == 422
    assert api.post("/messages", json={**seed, "channel": "x"}).status_code == 422
    assert api.post("/messages", json={**seed, "lead_id": "77"}).status_code == 422
    assert api.post("/messages", json={"message_body": "hi"}).status_code == 422
    listed = api.get("/messages", params={"since": message["received_at"]}).json()["data"]
    assert listed[-1]["message_id"] == message["message_id"]


def test_faults_and_admin_routes(api: httpx.Client, emu: BomaEmulator) -> None:
    admin = httpx.Client(base_url=emu.base_url + "/_emulator", timeout=10)
    assert admin.put("/faults", json={"rate_5xx": 1.0}).json()["rate_5xx"] == 1.0
    assert api.get("/leads").status_code >= 500
    admin.put("/faults", json={"malformed": 1.0, "malformed_kinds": ["html_error"]})
    html = api.get("/leads")
    assert html.status_code == 200
    assert html.text.startswith("<!DOCTYPE html>")
    assert admin.put("/faults", json={"rate_429": 2}).status_code == 400
    admin.put("/faults", json={})
    before = {i: row.updated_ms for i, row in emu.store.leads.items()}
    activities = len(emu.store.activities)
    mutated = admin.post("/mutate", json={"fraction": 0.05, "seed": 1}).json()["ids"]
    assert len(mutated) == round(0.05 * len(before))
    assert all(emu.store.leads[int(i)].updated_ms > before[int(i)] for i in mutated)
    assert len(emu.store.activities) == activities + len(mutated)
    assert admin.post("/delete", json={"ids": ["100011", "4"]}).json()["ids"] == ["100011"]
    deleted = api.get("/leads/deleted").json()["data"]
    assert [d["lead_id"] for d in deleted] == ["100011"]
    assert admin.get("/leads/100012").json()["lead_id"] == "100012"
    tied = admin.post("/leads/same-timestamp", json={"n": 3, "ts": 1_700_000_000_000}).json()["ids"]
    assert len(tied) == 3
    ledger = admin.get("/ledger").json()
    assert not any(key.startswith(("GET /_emulator", "PUT /_emulator")) for key in ledger["counts"])
    assert ledger["counts"]["GET /v1/leads"] == 2
    admin.post("/ledger/reset")
    assert emu.ledger.total() == 0
    admin.close()


def test_example_api_shapes(emu: BomaEmulator) -> None:
    with httpx.Client(base_url=emu.base_url + "/example", headers={"X-Api-Key": emu.api_key}) as ex:
        page = ex.get("/contacts", params={"per_page": 10, "page": 2}).json()
        assert len(page["items"]) == 10
        assert page["pagination"]["total_pages"] == -(-len(emu.store.leads) // 10)
        assert isinstance(page["items"][0]["modified"], int)
        assert ex.get("/contacts", params={"per_page": 101}).status_code == 400
        assert (
            ex.post("/properties", json={"name": "lb_score", "type": "number"}).status_code == 201
        )
        assert (
            ex.post("/properties", json={"name": "lb_score", "type": "number"}).status_code == 409
        )
        assert ex.post("/properties", json={"name": "x", "type": "blob"}).status_code == 422
        events = ex.get("/events", params={"limit": 5, "offset": 5}).json()
        assert len(events["events"]) == 5
        assert events["total"] == len(emu.store.activities)
    assert (
        httpx.get(emu.base_url + "/example/contacts", headers={"X-Api-Key": "bad"}).status_code
        == 401
    )
