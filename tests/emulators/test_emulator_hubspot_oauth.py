from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal

REDIRECT = "http://127.0.0.1:9/callback"


def _authorize(client: httpx.Client, verifier: str, scope: str = "") -> str:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    r = client.get(
        "/oauth/authorize",
        params={
            "client_id": "emulator-client",
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert query["state"] == ["xyz"]
    return query["code"][0]


def _exchange(client: httpx.Client, **form: str) -> httpx.Response:
    base = {
        "client_id": "emulator-client",
        "client_secret": "emulator-secret",
        "redirect_uri": REDIRECT,
    }
    return client.post("/oauth/v1/token", data={**base, **form})


@pytest.fixture
def emu():
    with HubSpotEmulator(generate_portal(20, seed=1), limits=HubSpotLimits(token_ttl_s=1)) as e:
        yield e


def test_code_pkce_refresh_and_expiry(emu, spec):
    with httpx.Client(base_url=emu.base_url, follow_redirects=False) as client:
        verifier = secrets.token_urlsafe(40)
        code = _authorize(client, verifier)
        wrong = _exchange(
            client,
            grant_type="authorization_code",
            code=_authorize(client, verifier),
            code_verifier="nope",
        )
        assert wrong.status_code == 400
        assert wrong.json()["status"] == "BAD_AUTH_CODE"
        token = _exchange(
            client, grant_type="authorization_code", code=code, code_verifier=verifier
        )
        assert token.status_code == 200
        doc = token.json()
        spec.validate("oauth-v1/oauth.json", "AccessTokenResponse", doc)
        assert doc["expires_in"] == 1
        assert doc["token_type"] == "bearer"
        reused = _exchange(
            client, grant_type="authorization_code", code=code, code_verifier=verifier
        )
        assert reused.json()["status"] == "BAD_AUTH_CODE"
        auth = {"Authorization": f"Bearer {doc['access_token']}"}
        ok = client.get("/crm/v3/objects/contacts", headers=auth)
        assert ok.status_code == 200
        assert "X-HubSpot-RateLimit-Max" in ok.headers
        assert "X-HubSpot-RateLimit-Daily" not in ok.headers
        time.sleep(1.1)
        expired = client.get("/crm/v3/objects/contacts", headers=auth)
        assert expired.status_code == 401
        assert expired.json()["category"] == "EXPIRED_AUTHENTICATION"
        refreshed = _exchange(
            client, grant_type="refresh_token", refresh_token=doc["refresh_token"]
        )
        assert refreshed.status_code == 200
        fresh = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        assert client.get("/crm/v3/objects/contacts", headers=fresh).status_code == 200
        bad = _exchange(client, grant_type="refresh_token", refresh_token="na1-dead")
        assert bad.status_code == 400
        assert bad.json()["status"] == "BAD_REFRESH_TOKEN"
        assert bad.json()["message"] == "missing or invalid refresh token"
        secret = client.post(
            "/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "emulator-client",
                "client_secret": "wrong",
                "refresh_token": doc["refresh_token"],
            },
        )
        assert secret.json()["status"] == "BAD_CLIENT_SECRET"


def test_expire_tokens_fault_and_missing_scopes(emu):
    emu_long = emu
    with httpx.Client(base_url=emu_long.base_url, follow_redirects=False) as client:
        verifier = secrets.token_urlsafe(40)
        code = _authorize(client, verifier, scope="oauth crm.objects.contacts.read")
        doc = _exchange(
            client, grant_type="authorization_code", code=code, code_verifier=verifier
        ).json()
        auth = {"Authorization": f"Bearer {doc['access_token']}"}
        denied = client.post(
            "/crm/v3/objects/contacts/batch/update", headers=auth, json={"inputs": []}
        )
        assert denied.status_code == 403
        assert denied.json()["context"]["missingScopes"] == ["crm.objects.contacts.write"]
        refreshed = _exchange(
            client, grant_type="refresh_token", refresh_token=doc["refresh_token"]
        ).json()
        emu_long.faults.expire_tokens = True
        r = client.get(
            "/crm/v3/objects/contacts",
            headers={"Authorization": f"Bearer {refreshed['access_token']}"},
        )
        assert r.status_code == 401
        assert r.json()["category"] == "EXPIRED_AUTHENTICATION"
        assert emu_long.faults.expire_tokens is False
        again = _exchange(
            client, grant_type="refresh_token", refresh_token=doc["refresh_token"]
        ).json()
        ok = client.get(
            "/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {again['access_token']}"}
        )
        assert ok.status_code == 200
