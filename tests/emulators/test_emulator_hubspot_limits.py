from __future__ import annotations

import httpx
import pytest

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, Portal, generate_portal

TOKEN = "pat-na1-emulator-token"


@pytest.fixture
def tight():
    limits = HubSpotLimits(burst_per_10s=5, search_per_s=2, daily=8)
    with (
        HubSpotEmulator(generate_portal(30, seed=3), limits=limits) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
    ):
        yield emu, api


def test_burst_window_429_body_and_headers(tight):
    emu, api = tight
    answers = [api.get("/crm/v3/objects/contacts") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["X-HubSpot-RateLimit-Remaining"] for a in answers[:5]] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    assert answers[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert answers[0].headers["X-HubSpot-RateLimit-Daily"] == "8"
    body = answers[5].json()
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert {"message", "correlationId", "requestId"} <= body.keys()
    assert emu.ledger.statuses()[429] == 1


def test_search_bucket_has_no_headers_and_daily_quota(tight):
    _emu, api = tight
    search = [api.post("/crm/v3/objects/contacts/search", json={}) for _ in range(3)]
    assert [s.status_code for s in search] == [200, 200, 429]
    assert all(
        not any(h.lower().startswith("x-hubspot-ratelimit") for h in s.headers) for s in search
    )
    assert search[2].json()["policyName"] == "SECONDLY"
    # daily quota: 8 per portal, 2 used by search already
    codes = []
    for _ in range(7):
        codes.append(api.get("/crm/v3/objects/contacts/101").status_code)
    assert codes[:5] == [200] * 5
    daily = api.get("/crm/v3/objects/contacts/101")
    assert daily.status_code == 429
    assert daily.json()["policyName"] in {
        "DAILY",
        "TEN_SECONDLY_ROLLING",
    }


def test_daily_limit_policy():
    limits = HubSpotLimits(daily=2)
    with (
        HubSpotEmulator(Portal(), limits=limits) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
    ):
        codes = [api.get("/crm/v3/objects/contacts").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert api.get("/crm/v3/objects/contacts").json()["policyName"] == "DAILY"


def test_ledger_counts_api_calls_but_not_admin_routes(hs, api):
    api.post("/crm/v3/objects/contacts/search", json={})
    api.post("/crm/v3/objects/contacts/search", json={})
    api.get("/crm/v3/objects/contacts")
    api.get("/_emulator/ledger")
    counts = hs.ledger.counts()
    assert counts == {"POST /crm/v3/objects/contacts/search": 2, "GET /crm/v3/objects/contacts": 1}
    assert hs.ledger.total() == 3
    snapshot = api.get("/_emulator/ledger").json()
    assert snapshot["counts"] == counts
    assert snapshot["statuses"] == {"200": 3}
    assert api.post("/_emulator/ledger/reset").status_code == 204
    assert hs.ledger.total() == 0


def test_unauthenticated_calls_are_refused(hs, spec):
    with httpx.Client(base_url=hs.base_url) as anon:
        r = anon.get("/crm/v3/objects/contacts")
        assert r.status_code == 401
        assert r.json()["category"] == "INVALID_AUTHENTICATION"
        spec.validate("crm-contacts-v3/contacts.json", "Error", r.json())
        bad = anon.get("/crm/v3/objects/contacts", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
