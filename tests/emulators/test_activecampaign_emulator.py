from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from leadbridge.emulators.activecampaign import (
    ActiveCampaignEmulator,
    ActiveCampaignLimits,
    generate_activecampaign,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[56]:00$")


@pytest.fixture
def ac() -> Iterator[ActiveCampaignEmulator]:
    limits = ActiveCampaignLimits(requests_per_s=10_000, import_delay_s=0.1)
    with ActiveCampaignEmulator(
        generate_activecampaign(120, seed=3, now=NOW), limits=limits
    ) as emu:
        yield emu


@pytest.fixture
def api(ac: ActiveCampaignEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ac.api_url, headers={"Api-Token": ac.api_key}, timeout=10) as c:
        yield c


def test_contacts_page_shape_offsets_and_clamped_limit(ac, api):
    body = api.get("/contacts", params={"limit": 500}).json()
    assert len(body["contacts"]) == 100
    assert body["meta"]["total"] == "120"
    first = body["contacts"][0]
    assert OFFSET.match(first["udate"])
    assert OFFSET.match(first["cdate"])
    assert isinstance(first["id"], str)
    assert first["links"]["trackingLogs"].endswith("/trackingLogs")
    assert ac.gateway.violations
    assert "limit=500" in ac.gateway.violations[0]
    assert len(api.get("/contacts").json()["contacts"]) == 20  # AC's default page


def test_id_greater_paging_reads_every_contact_once(api):
    seen: list[int] = []
    after = 0
    while True:
        page = api.get(
            "/contacts", params={"orders[id]": "ASC", "id_greater": after, "limit": 50}
        ).json()
        ids = [int(c["id"]) for c in page["contacts"]]
        if not ids:
            break
        assert int(page["meta"]["total"]) == 120 - len(seen)
        seen.extend(ids)
        after = ids[-1]
    assert seen == list(range(1, 121))


@pytest.mark.parametrize("inclusive", [False, True])
def test_updated_after_inclusivity_is_configurable(inclusive):
    account = generate_activecampaign(0, now=NOW)
    ts = int(NOW.timestamp())
    account.same_udate(3, ts)
    limits = ActiveCampaignLimits(requests_per_s=1000, updated_after_inclusive=inclusive)
    with ActiveCampaignEmulator(account, limits=limits) as emu:
        stamp = account.fmt(ts)
        r = httpx.get(
            f"{emu.api_url}/contacts",
            params={"filters[updated_after]": stamp},
            headers={"Api-Token": emu.api_key},
        )
        assert r.json()["meta"]["total"] == ("3" if inclusive else "0")


def test_bad_key_is_403_forbidden(ac):
    r = httpx.get(f"{ac.api_url}/contacts", headers={"Api-Token": "nope-nope-nope"})
    assert r.status_code == 403
    assert r.json() == {"message": "Forbidden"}


def test_rate_limit_per_account_across_keys_and_503_mode():
    limits = ActiveCampaignLimits(requests_per_s=5)
    account = generate_activecampaign(5, now=NOW)
    with ActiveCampaignEmulator(
        account, limits=limits, api_keys=("key-aaaaaaaa", "key-bbbbbbbb")
    ) as emu:
        url = f"{emu.api_url}/contacts"
        answers = [
            httpx.get(url, headers={"Api-Token": "key-aaaaaaaa" if i % 2 else "key-bbbbbbbb"})
            for i in range(8)
        ]
        limited = [r for r in answers if r.status_code == 429]
        assert limited, "two keys of one account share the 5/s window"
        assert int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].headers["RateLimit-Limit"] == "5"
        assert answers[0].headers["RateLimit-Remaining"] == "4"
        emu.faults.throttle_status = 503
        time.sleep(1.1)
        answers = [httpx.get(url, headers={"Api-Token": "key-aaaaaaaa"}) for _ in range(7)]
        unavailable = [r for r in answers if r.status_code == 503]
        assert unavailable
        assert "retry-after" not in unavailable[0].headers


def test_bulk_import_rules(ac, api):
    emails = [c["email"] for c in api.get("/contacts", params={"limit": 5}).json()["contacts"]]
    too_many = {"contacts": [{"email": f"p{i}@example.ch"} for i in range(251)]}
    assert api.post("/import/bulk_import", json=too_many).status_code == 400
    rows = [{"email": e, "fields": [{"id": 2, "value": "CTO"}]} for e in emails]
    rows.insert(2, {"email": "not an email"})
    r = api.post("/import/bulk_import", json={"contacts": rows})
    assert r.status_code == 400
    body = r.json()
    assert body["success"] == 0
    assert body["failureReasons"][0]["contact"] == 2
    assert not ac.account.imports, "nothing is queued when one row is bad"
    del rows[2]
    r = api.post("/import/bulk_import", json={"contacts": rows})
    batch = r.json()["batchId"]
    assert r.json()["queued_contacts"] == 5
    assert api.get("/import/info", params={"batchId": batch}).json()["status"] == "pending"
    time.sleep(0.15)
    info = api.get("/import/info", params={"batchId": batch}).json()
    assert info["status"] == "completed"
    assert len(info["success"]) == 5
    assert ac.account.raw(int(info["success"][0]))["fields"]["JOB_TITLE"] == "CTO"
    assert api.get("/import/info").status_code == 400


def test_import_rate_limit_answers_rate_limit_exceeded():
    limits = ActiveCampaignLimits(requests_per_s=1000, imports_per_window=2, import_window_s=30)
    with ActiveCampaignEmulator(generate_activecampaign(2, now=NOW), limits=limits) as emu:
        body = {"contacts": [{"email": "a@example.ch"}]}
        with httpx.Client(base_url=emu.api_url, headers={"Api-Token": emu.api_key}) as c:
            statuses = [c.post("/import/bulk_import", json=body) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert statuses[2].json()["message"] == "Rate limit exceeded."
        assert int(statuses[2].headers["Retry-After"]) >= 1


def test_fields_duplicate_title_and_relations(api):
    listing = api.get("/fields", params={"limit": 100}).json()
    assert listing["meta"]["total"] == "9"
    assert len(listing["fieldRels"]) == 9
    r = api.post("/fields", json={"field": {"title": "company", "type": "text"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "duplicate"
    r = api.post("/fields", json={"field": {"title": "Score", "type": "number"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["source"]["pointer"]
    created = api.post(
        "/fields", json={"field": {"title": "Score", "type": "text", "perstag": "LB_SCORE"}}
    )
    assert created.status_code == 201
    fid = created.json()["field"]["id"]
    rel = api.post("/fieldRels", json={"fieldRel": {"field": fid, "relid": 0}})
    assert rel.status_code == 201
    assert rel.json()["fieldRel"]["field"] == fid
    again = api.post("/fieldRels", json={"fieldRel": {"field": fid, "relid": 0}})
    assert again.status_code == 422


def test_delete_then_404_and_activity_endpoints(api):
    assert api.get("/activities").status_code == 400  # contact is required
    feed = api.get("/activities", params={"contact": 7, "orders[tstamp]": "ASC"}).json()
    stamps = [a["tstamp"] for a in feed["activities"]]
    assert stamps == sorted(stamps)
    assert api.delete("/contacts/7").json() == {}
    r = api.get("/contacts/7")
    assert r.status_code == 404
    assert r.json() == {"message": "No Result found for Subscriber with id 7"}
    assert api.get("/contacts/7/trackingLogs").status_code == 404


def test_contact_sync_upserts_by_email(api):
    r = api.post(
        "/contact/sync",
        json={
            "contact": {
                "email": "new.person@example.ch",
                "fieldValues": [{"field": "1", "value": "X"}],
            }
        },
    )
    assert r.status_code == 201
    again = api.post("/contact/sync", json={"contact": {"email": "NEW.person@example.ch"}})
    assert again.status_code == 200
    assert again.json()["contact"]["id"] == r.json()["contact"]["id"]
    bad = api.post("/contact/sync", json={"contact": {"email": "nope"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["code"] == "email_invalid"


def test_generator_is_deterministic_and_realistic():
    a = generate_activecampaign(1000, seed=11, now=NOW)
    b = generate_activecampaign(1000, seed=11, now=NOW)
    assert [c.email for c in a.contacts.values()] == [c.email for c in b.contacts.values()]
    phones = [c.phone for c in a.contacts.values() if c.phone]
    assert any(p.startswith("+41") for p in phones)
    langs = {v.value for v in a.values.values() if a.fields[v.field].perstag == "LANGUAGE"}
    assert {"fr", "de", "it", "en"} <= langs
    invalid = [c for c in a.contacts.values() if " at " in c.email]
    sizes = {v.value for v in a.values.values() if a.fields[v.field].perstag == "COMPANY_SIZE"}
    assert 1 <= len(invalid) + len(sizes & {"beaucoup", "approx. fifty", "-3"}) <= 4
    per_contact = [len(a.activities.get(i, [])) + len(a.tracking.get(i, [])) for i in a.contacts]
    assert max(per_contact) > 3 * (sum(per_contact) / len(per_contact))  # skewed engagement
    assert all(c.cdate <= c.udate <= int(NOW.timestamp()) for c in a.contacts.values())


def test_admin_routes_and_mutate(ac):
    base = ac.base_url
    httpx.get(f"{ac.api_url}/contacts", headers={"Api-Token": ac.api_key})
    ledger = httpx.get(f"{base}/_emulator/ledger").json()
    assert ledger["counts"] == {"GET /api/3/contacts": 1}
    r = httpx.put(f"{base}/_emulator/faults", json={"rate_throttle": 0.5, "throttle_status": 503})
    assert r.status_code == 200
    assert ac.faults.throttle_status == 503
    before = ac.account.contacts[3].udate
    ids = httpx.post(f"{base}/_emulator/mutate", json={"fraction": 0.05, "seed": 1}).json()["ids"]
    assert len(ids) == 6
    assert ac.account.contacts[int(ids[0])].udate >= before
    old = ac.api_key
    httpx.put(f"{base}/_emulator/keys", json={"keys": ["rotated-key-1"]})
    assert httpx.get(f"{ac.api_url}/contacts", headers={"Api-Token": old}).status_code == 403
    ok = httpx.get(f"{ac.api_url}/contacts", headers={"Api-Token": "rotated-key-1"})
    assert ok.status_code == 200
