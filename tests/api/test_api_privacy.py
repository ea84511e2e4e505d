"""Privacy routes over real HTTP: export (JSON, CSV), objection, request status, ROPA."""

from __future__ import annotations

import httpx

from leadbridge.core.models import Lead, Page
from leadbridge.privacy.csvsafe import read_csv


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_export_objection_and_request_status(api, keys, mint):
    lead = Lead(key="hubspot:7", source_ids={"hubspot": "7"}, email="eve@example.ch",
                first_name="@SUM(1+1)", last_name="-Evil")  # fmt: skip
    api.service.store.stage_page("hs", Page(stream="contacts", leads=(lead,)))
    reader = mint(keys.rsa, scope="privacy:read")
    answer = httpx.get(f"{api.url}/subjects/hubspot:7/export", params={"format": "csv"},
                       headers=_auth(reader))  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store"
    assert "'@SUM(1+1)" in answer.text
    assert "'-Evil" in answer.text
    assert ["lead", "hs", "hubspot:7", "", "first_name", "@SUM(1+1)"] in read_csv(answer.text)
    by_mail = httpx.get(f"{api.url}/subjects/EVE@example.ch/export", headers=_auth(reader))
    assert by_mail.json()["records"][0]["lead_key"] == "hubspot:7"
    missing = httpx.get(f"{api.url}/subjects/nobody@example.ch/export", headers=_auth(reader))
    assert missing.status_code == 404

    writer = mint(keys.rsa, scope="privacy:write")
    objected = httpx.post(f"{api.url}/privacy/objection", json={"lead_keys": ["hubspot:7"]},
                          headers=_auth(writer))  # fmt: skip
    assert objected.status_code == 200, objected.text
    body = objected.json()
    assert body["leads_flagged"] == 1
    assert body["objects"] is True
    status = httpx.get(f"{api.url}/privacy/requests/{body['request_id']}", headers=_auth(reader))
    assert status.json()["kind"] == "objection"
    assert status.json()["status"] == "completed"
    bad = httpx.post(f"{api.url}/privacy/objection", json={"email": 3, "x": 1},
                     headers=_auth(writer))  # fmt: skip
    assert bad.status_code == 400
    nobody = httpx.post(f"{api.url}/privacy/objection", json={}, headers=_auth(writer))
    assert nobody.status_code == 400
    ropa = httpx.get(f"{api.url}/privacy/ropa", params={"format": "md"}, headers=_auth(reader))
    assert ropa.text.startswith("# Record of processing activities")
    kinds = [e.details.get("action") for e in api.audit.read(actor="t", limit=None)
             if e.kind == "privacy_action"]  # fmt: skip
    assert kinds == ["access", "access", "access", "objection"]
