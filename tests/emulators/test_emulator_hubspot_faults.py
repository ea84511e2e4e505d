from __future__ import annotations

import json

import httpx
import pytest

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotFaults, generate_portal

TOKEN = "pat-na1-emulator-token"


@pytest.fixture
def chaos():
    with (
        HubSpotEmulator(generate_portal(50, seed=2)) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
    ):
        yield emu, api


def test_malformed_kinds(chaos):
    emu, api = chaos
    emu.faults.malformed = 1.0
    emu.faults.malformed_kinds = ("truncated_json",)
    cut = api.get("/crm/v3/objects/contacts")
    assert cut.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.text)
    emu.faults.malformed_kinds = ("html_error",)
    html = api.post("/crm/v3/objects/contacts/search", json={})
    assert html.headers["content-type"].startswith("text/html")
    assert "<html>" in html.text
    emu.faults.malformed_kinds = ("wrong_types",)
    typed = api.get("/crm/v3/objects/contacts").json()
    assert not isinstance(typed["results"], list) or not isinstance(typed["results"][0]["id"], str)
    emu.faults.malformed = 0.0
    assert isinstance(api.get("/crm/v3/objects/contacts").json()["results"][0]["id"], str)


def test_injected_429_and_5xx_are_in_the_ledger(chaos):
    emu, api = chaos
    emu.faults.rate_429 = 1.0
    r = api.get("/crm/v3/objects/contacts")
    assert r.status_code == 429
    assert r.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert r.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    emu.faults.rate_429 = 0.0
    emu.faults.rate_5xx = 1.0
    codes = {api.get("/crm/v3/objects/contacts").status_code for _ in range(12)}
    assert codes <= {500, 502, 503, 504}
    assert len(codes) > 1
    statuses = emu.ledger.statuses()
    assert statuses[429] == 1
    assert sum(statuses.get(c, 0) for c in (500, 502, 503, 504)) == 12


def test_faults_are_seeded_and_settable_over_http(chaos):
    emu, api = chaos
    put = api.put("/_emulator/faults", json={"rate_5xx": 0.5, "seed": 11})
    assert put.status_code == 200
    assert emu.faults.rate_5xx == 0.5
    first = [api.get("/crm/v3/objects/contacts").status_code for _ in range(20)]
    api.put("/_emulator/faults", json={"rate_5xx": 0.5, "seed": 12})
    api.put("/_emulator/faults", json={"rate_5xx": 0.5, "seed": 11})
    second = [api.get("/crm/v3/objects/contacts").status_code for _ in range(20)]
    assert [c == 200 for c in first] == [c == 200 for c in second]
    assert 200 in first
    assert any(c >= 500 for c in first)
    assert api.put("/_emulator/faults", json={"malformed_kinds": ["bogus"]}).status_code == 400
    assert HubSpotFaults().malformed == 0.0
    latency = api.put("/_emulator/faults", json={"latency_ms": 30})
    assert latency.json()["latency_ms"] == 30
    r = api.get("/crm/v3/objects/contacts")
    assert r.elapsed.total_seconds() >= 0.03
