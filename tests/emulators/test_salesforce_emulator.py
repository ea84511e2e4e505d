"""The Salesforce emulator answers simple-salesforce and raw HTTP like the platform."""

from __future__ import annotations

import base64
import hashlib
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey
from simple_salesforce import Salesforce

from leadbridge.emulators.salesforce import (
    SalesforceEmulator,
    SalesforceLimits,
    generate_salesforce,
)

V = "/services/data/v60.0"


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def sf(keypair: tuple[str, str]) -> Iterator[SalesforceEmulator]:
    limits = SalesforceLimits(query_page_size=40, bulk_job_delay_s=0.05, rotate_refresh_tokens=True)
    org = generate_salesforce(120, seed=3)
    with SalesforceEmulator(org, limits=limits, jwt_public_key_pem=keypair[1]) as emu:
        yield emu


@pytest.fixture
def api(sf: SalesforceEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sf.base_url,
        headers={"Authorization": f"Bearer {sf.session_id}"},
        verify=_ctx(sf),
        timeout=10,
    ) as client:
        yield client


def _ctx(sf: SalesforceEmulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sf.ca_path)


def _simple(sf: SalesforceEmulator) -> Salesforce:
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = sf.ca_path
    return Salesforce(
        instance_url=sf.base_url, session_id=sf.session_id, session=session, version="60.0"
    )


def test_simple_salesforce_reads_queries_records_and_deletions(sf: SalesforceEmulator) -> None:
    client = _simple(sf)
    everything = client.query_all("SELECT Id, Email, SystemModstamp FROM Lead")
    live = [r for r in sf.org.rows("Lead")]
    assert everything["totalSize"] == len(live) > 40  # several pages of 40
    first = everything["records"][0]["Id"]
    record = client.Lead.get(first)
    assert record["Id"] == first
    assert record["attributes"]["type"] == "Lead"
    assert record["SystemModstamp"].endswith("+0000")
    now = datetime.now(UTC)
    gone = client.Lead.deleted(now - timedelta(days=10), now)
    assert {"deletedRecords", "earliestDateAvailable", "latestDateCovered"} <= set(gone)
    assert client.limits()["DailyApiRequests"]["Max"] == 100_000
    assert client.api_usage["api-usage"].used >= 1


def test_simple_salesforce_bulk2_update_reports_rows(sf: SalesforceEmulator) -> None:
    client = _simple(sf)
    ids = [r["Id"] for r in sf.org.rows("Lead") if not r["IsConverted"]][:5]
    rows = [{"Id": i, "Title": "Bulk Title"} for i in ids] + [{"Id": ids[0], "Title": "x" * 200}]
    jobs = client.bulk2.Lead.update(records=rows, wait=0.05)
    assert jobs[0]["numberRecordsProcessed"] == 6
    assert jobs[0]["numberRecordsFailed"] == 1
    results = client.bulk2.Lead.get_all_ingest_records(jobs[0]["job_id"])
    assert len(results["successfulRecords"]) == 5
    assert results["failedRecords"][0]["sf__Error"].startswith("STRING_TOO_LONG")
    assert sf.org.get("Lead", ids[1])["Title"] == "Bulk Title"


def test_errors_are_arrays_with_salesforce_codes(sf: SalesforceEmulator, api: httpx.Client) -> None:
    bad = api.get(f"{V}/query", params={"q": "SELEC Id FROM Lead"})
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    quoted = api.get(
        f"{V}/query",
        params={"q": "SELECT Id FROM Lead WHERE SystemModstamp >= '2024-01-01T00:00:00Z'"},
    )
    assert quoted.json()[0]["errorCode"] == "INVALID_FIELD"
    missing = api.get(f"{V}/query", params={"q": "SELECT Id, Nope__c FROM Lead"})
    assert missing.json()[0]["errorCode"] == "INVALID_FIELD"
    assert api.get(f"{V}/sobjects/Lead/00Q000000000000AAA").status_code == 404
    assert "sforce-limit-info" in bad.headers
    unauthorised = httpx.get(f"{api.base_url}{V}/limits", verify=_ctx(sf))
    assert unauthorised.status_code == 401
    assert unauthorised.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_query_paging_snapshot_and_locator_expiry(
    sf: SalesforceEmulator, api: httpx.Client
) -> None:
    q = "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id"
    page = api.get(f"{V}/query", params={"q": q}).json()
    assert page["done"] is False
    assert len(page["records"]) == 40
    assert page["nextRecordsUrl"].startswith(f"{V}/query/01g")
    ids = [r["Id"] for r in page["records"]]
    while not page["done"]:
        page = api.get(page["nextRecordsUrl"]).json()
        ids.extend(r["Id"] for r in page["records"])
    assert len(ids) == len(set(ids)) == page["totalSize"]
    first = api.get(f"{V}/query", params={"q": q}).json()
    expired = api.get(first["nextRecordsUrl"].replace("-40", "-4000"))
    assert expired.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_collections_rules_and_all_or_none(sf: SalesforceEmulator, api: httpx.Client) -> None:
    ids = [r["Id"] for r in sf.org.rows("Contact")][:3]
    too_many = [{"attributes": {"type": "Contact"}, "id": ids[0], "Title": "x"}] * 201
    r = api.patch(f"{V}/composite/sobjects", json={"allOrNone": False, "records": too_many})
    assert r.status_code == 400
    assert isinstance(r.json(), list)
    untyped = api.patch(f"{V}/composite/sobjects", json={"records": [{"id": ids[0], "Title": "x"}]})
    assert untyped.status_code == 400
    mixed = [
        {"attributes": {"type": "Contact"}, "id": ids[0], "Title": "Ok"},
        {"attributes": {"type": "Contact"}, "id": ids[1], "Title": "t" * 300},
    ]
    r = api.patch(f"{V}/composite/sobjects", json={"allOrNone": True, "records": mixed})
    assert r.status_code == 200
    body = r.json()
    assert body[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert body[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.org.get("Contact", ids[0])["Title"] != "Ok"
    r = api.patch(f"{V}/composite/sobjects", json={"allOrNone": False, "records": mixed})
    assert [x["success"] for x in r.json()] == [True, False]
    assert sf.org.get("Contact", ids[0])["Title"] == "Ok"


def test_custom_field_needs_field_level_security(sf: SalesforceEmulator, api: httpx.Client) -> None:
    created = api.post(
        f"{V}/tooling/sobjects/CustomField",
        json={
            "FullName": "Lead.Probe__c",
            "Metadata": {"label": "Probe", "type": "Number", "precision": 3, "scale": 0},
        },
    )
    assert created.status_code == 201
    assert created.json()["id"].startswith("00N")
    again = api.post(
        f"{V}/tooling/sobjects/CustomField",
        json={
            "FullName": "Lead.Probe__c",
            "Metadata": {"label": "Probe", "type": "Number", "precision": 3, "scale": 0},
        },
    )
    assert again.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    lead = next(r["Id"] for r in sf.org.rows("Lead") if not r["IsConverted"])
    record = [{"attributes": {"type": "Lead"}, "id": lead, "Probe__c": 5}]
    denied = api.patch(f"{V}/composite/sobjects", json={"records": record}).json()
    assert denied[0]["errors"][0]["statusCode"] == "INVALID_FIELD"
    ps = api.get(
        f"{V}/query",
        params={"q": "SELECT Id FROM PermissionSet WHERE Name = 'Leadbridge_Integration'"},
    ).json()
    grant = [
        {
            "attributes": {"type": "FieldPermissions"},
            "ParentId": ps["records"][0]["Id"],
            "SobjectType": "Lead",
            "Field": "Lead.Probe__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    ]
    assert api.post(f"{V}/composite/sobjects", json={"records": grant}).json()[0]["success"]
    allowed = api.patch(f"{V}/composite/sobjects", json={"records": record}).json()
    assert allowed[0]["success"] is True
    too_big = [{"attributes": {"type": "Lead"}, "id": lead, "Probe__c": 1000}]
    out = api.patch(f"{V}/composite/sobjects", json={"records": too_big}).json()
    assert out[0]["errors"][0]["statusCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


def test_daily_allocation_refuses_with_403(keypair: tuple[str, str]) -> None:
    limits = SalesforceLimits(daily_api_requests=3)
    with (
        SalesforceEmulator(generate_salesforce(5, seed=1), limits=limits) as emu,
        httpx.Client(
            base_url=emu.base_url,
            headers={"Authorization": f"Bearer {emu.session_id}"},
            verify=_ctx(emu),
        ) as client,
    ):
        infos = [client.get(f"{V}/limits").headers["sforce-limit-info"] for _ in range(3)]
        assert infos == ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]
        refused = client.get(f"{V}/limits")
        assert refused.status_code == 403
        assert refused.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        assert emu.ledger.statuses()[403] == 1


def test_web_server_flow_pkce_refresh_rotation_and_reuse(sf: SalesforceEmulator) -> None:
    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect = "http://127.0.0.1:8765/oauth/callback"
    with httpx.Client(verify=_ctx(sf), timeout=10) as http:
        r = http.get(
            sf.authorize_url,
            params={
                "response_type": "code",
                "client_id": sf.client_id,
                "redirect_uri": redirect,
                "state": "s1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert r.status_code == 302
        query = parse_qs(urlparse(r.headers["location"]).query)
        assert query["state"] == ["s1"]
        base = {"client_id": sf.client_id, "client_secret": sf.client_secret}
        wrong = http.post(
            sf.token_url,
            data={
                **base,
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect,
                "code_verifier": "x" * 64,
            },
        )
        assert wrong.json()["error"] == "invalid_grant"
        r = http.get(
            sf.authorize_url,
            params={
                "response_type": "code",
                "client_id": sf.client_id,
                "redirect_uri": redirect,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlparse(r.headers["location"]).query)["code"][0]
        token = http.post(
            sf.token_url,
            data={
                **base,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "code_verifier": verifier,
            },
        ).json()
        assert "expires_in" not in token
        assert token["token_type"] == "Bearer"
        first = token["refresh_token"]
        rotated = http.post(
            sf.token_url, data={**base, "grant_type": "refresh_token", "refresh_token": first}
        ).json()
        assert rotated["refresh_token"] != first
        reuse = http.post(
            sf.token_url, data={**base, "grant_type": "refresh_token", "refresh_token": first}
        )
        assert reuse.status_code == 400
        assert reuse.json()["error"] == "invalid_grant"
        dead = http.post(
            sf.token_url,
            data={**base, "grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
        )
        assert dead.json()["error"] == "invalid_grant"  # the whole family was revoked
        api = http.get(
            f"{sf.base_url}{V}/limits",
            headers={"Authorization": f"Bearer {rotated['access_token']}"},
        )
        assert api.status_code == 401


def test_jwt_bearer_checks_signature_and_claims(
    sf: SalesforceEmulator, keypair: tuple[str, str]
) -> None:
    def assertion(key: RSAKey, **claims: object) -> str:
        body = {
            "iss": sf.client_id,
            "sub": sf.org.api_username,
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120,
            **claims,
        }
        return jwt.encode({"alg": "RS256"}, body, key)

    good = RSAKey.import_key(keypair[0])
    other = RSAKey.generate_key(2048)
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    with httpx.Client(verify=_ctx(sf), timeout=10) as http:
        ok = http.post(sf.token_url, data={"grant_type": grant, "assertion": assertion(good)})
        assert ok.status_code == 200
        assert "refresh_token" not in ok.json()
        forged = http.post(sf.token_url, data={"grant_type": grant, "assertion": assertion(other)})
        assert forged.json()["error"] == "invalid_grant"
        stranger = http.post(
            sf.token_url,
            data={"grant_type": grant, "assertion": assertion(good, sub="nobody@example.com")},
        )
        assert stranger.json()["error_description"] == "user hasn't approved this consumer"
        late = http.post(
            sf.token_url,
            data={"grant_type": grant, "assertion": assertion(good, exp=int(time.time()) - 5)},
        )
        assert late.json()["error"] == "invalid_grant"
