"""The API over real HTTP with real signed JWTs: who gets in, who does not, what is audited."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from leadbridge.api.app import create_app
from leadbridge.api.settings import ApiSettings
from leadbridge.emulators.common.server import ServerThread


def get(api, path: str, token: str | None, **params: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(api.url + path, headers=headers, params=params, timeout=10)


def audit_kinds(api) -> list[tuple[str, str, dict]]:
    return [(e.kind, e.actor, e.details) for e in api.audit.read(actor="test", limit=None)]


@pytest.mark.parametrize(("which", "alg"), [("rsa", "RS256"), ("ec", "ES256"), ("ed", "EdDSA"),
                                            ("ed", "Ed25519")])  # fmt: skip
def test_valid_tokens_of_every_key_type_are_accepted(api, keys, which, alg, mint):
    token = mint(getattr(keys, which), alg=alg)
    answer = get(api, "/audit/entries", token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entries"] == [] or isinstance(answer.json()["entries"], list)
    assert answer.headers["x-request-id"]


def test_missing_token_is_401_with_a_bearer_challenge(api):
    answer = get(api, "/audit/entries", None)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="leadbridge"'
    basic = httpx.get(api.url + "/audit/entries", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert 'error="invalid_request"' in basic.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("expired", "token expired"),
        ("wrong_audience", "wrong value"),
        ("wrong_issuer", "wrong value"),
        ("wrong_signature", "bad signature"),
        ("not_yet_valid", "wrong value"),
        ("no_expiry", "missing"),
    ],
)
def test_invalid_tokens_are_401(api, keys, case, expected, mint):
    token = {
        "expired": lambda: mint(keys.rsa, exp_in=-120),
        "wrong_audience": lambda: mint(keys.rsa, aud="someone-else"),
        "wrong_issuer": lambda: mint(keys.rsa, iss="https://evil.test/"),
        "wrong_signature": lambda: mint(keys.other_rsa),  # same kid, key not in the JWKS
        "not_yet_valid": lambda: mint(keys.rsa, extra={"nbf": int(time.time()) + 600}),
        "no_expiry": lambda: mint(keys.rsa, extra={"exp": None}),
    }[case]()
    answer = get(api, "/audit/entries", token)
    assert answer.status_code == 401, answer.text
    challenge = answer.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert expected in answer.json()["message"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tampered_none_and_hmac_confusion_tokens_are_refused(api, keys, mint):
    good = mint(keys.rsa, scope="audit:read")
    head, body, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["scope"] = "audit:read privacy:write"
    forged = ".".join([head, _b64(json.dumps(claims).encode()), sig])
    none = ".".join([_b64(b'{"alg":"none","typ":"JWT"}'), body, ""])
    # HS256 "signed" with the RSA public key: the classic algorithm-confusion attack.
    public_pem = keys.rsa.as_pem(private=False)
    hs_head = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    mac = hmac.new(public_pem, f"{hs_head}.{body}".encode(), hashlib.sha256).digest()
    confused = f"{hs_head}.{body}.{_b64(mac)}"
    for token in (forged, none, confused, "not-a-jwt", good[:-4] + "AAAA"):
        answer = get(api, "/audit/entries", token)
        assert answer.status_code == 401, (token[:20], answer.text)


def test_insufficient_scope_is_403_and_names_the_scope(api, keys, mint):
    token = mint(keys.rsa, scope="privacy:read")
    answer = get(api, "/audit/entries", token)
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert 'scope="audit:read"' in answer.headers["www-authenticate"]
    write = httpx.post(api.url + "/privacy/objection", json={"email": "x@example.ch"},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert write.status_code == 403
    decrypt = get(api, "/audit/entries", mint(keys.rsa), decrypt="true")
    assert decrypt.status_code == 403  # personal values need privacy:read too


def test_scp_claim_and_space_separated_scopes(api, keys, mint):
    as_list = mint(keys.ec, alg="ES256", scope=None, extra={"scp": ["privacy:read", "audit:read"]})
    assert get(api, "/audit/entries", as_list).status_code == 200
    several = mint(keys.rsa, scope="openid privacy:read audit:read")
    assert get(api, "/audit/entries", several).status_code == 200


def test_every_read_and_every_refusal_is_audited(api, keys, mint):
    token = mint(keys.rsa, sub="dashboard-1")
    assert get(api, "/audit/entries", token, limit=5).status_code == 200
    assert get(api, "/audit/verify", token).status_code == 200
    assert get(api, "/audit/entries", mint(keys.rsa, aud="x")).status_code == 401
    assert get(api, "/audit/entries", mint(keys.rsa, scope="privacy:read")).status_code == 403
    found = audit_kinds(api)
    reads = [(a, d) for k, a, d in found if k == "audit_read" and a == "api:dashboard-1"]
    assert len(reads) == 2  # the page read and the verification
    assert reads[0][1]["query"]["limit"] == 5
    assert reads[1][1]["query"] == {"verify": True}
    refusals = [d for k, _a, d in found if k == "auth_event"]
    assert [(r["status"], r["error"]) for r in refusals] == [
        (401, "invalid_token"),
        (403, "insufficient_scope"),
    ]
    assert all(r["route"] == "GET /audit/entries" for r in refusals)


def test_audit_pages_and_verification(api, keys, mint):
    token = mint(keys.rsa)
    for _ in range(3):
        get(api, "/audit/entries", token, limit=1)
    first = get(api, "/audit/entries", token, limit=2).json()
    assert [e["seq"] for e in first["entries"]] == [1, 2]
    assert first["next_after_seq"] == 2
    rest = get(api, "/audit/entries", token, after_seq=2, limit=100, kind="audit_read").json()
    assert all(e["kind"] == "audit_read" and e["seq"] > 2 for e in rest["entries"])
    assert rest["next_after_seq"] is None
    assert get(api, "/audit/entries", token, limit=0).status_code == 400
    report = get(api, "/audit/verify", token).json()
    assert report["ok"] is True
    assert report["entries"] >= 5


def test_openapi_document_is_valid_and_documents_every_route_with_its_scope(api):
    answer = httpx.get(api.url + "/openapi.json")
    assert answer.status_code == 200
    doc = answer.json()
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    expected = {
        ("/audit/entries", "get"): "audit:read",
        ("/audit/verify", "get"): "audit:read",
        ("/subjects/{subject}/export", "get"): "privacy:read",
        ("/privacy/erasure", "post"): "privacy:write",
        ("/privacy/objection", "post"): "privacy:write",
        ("/privacy/requests/{request_id}", "get"): "privacy:read",
        ("/privacy/ropa", "get"): "privacy:read",
    }
    for (path, method), scope in expected.items():
        operation = doc["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": [scope]}]
        assert {"401", "403"} <= set(operation["responses"])
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert "ErasureCertificate" in doc["components"]["schemas"]
    assert httpx.get(api.url + "/health").json()["status"] == "ok"


def test_extra_routes_are_mounted_behind_their_own_scope(api, keys, jwks, mint, idp):
    async def summary(request: Request) -> JSONResponse:
        return JSONResponse({"who": request.state.principal.subject})

    def weekly(request: Request) -> JSONResponse:  # a sync endpoint works too
        return JSONResponse({"week": 7})

    issuer, audience = idp
    settings = ApiSettings(issuer=issuer, audience=audience, jwks_url=jwks.url)
    app = create_app(
        settings,
        privacy=api.service,
        audit=api.audit,
        extra_routes=[
            (Mount("/reports", routes=[Route("/summary", summary)]), "reports:read"),
            (Route("/reports-weekly", weekly), "reports:read"),
        ],
        extra_openapi={"/reports/summary": {"get": {
            "responses": {"200": {"description": "OK"}},
            "security": [{"bearerAuth": ["reports:read"]}]}}},
    )  # fmt: skip
    server = ServerThread(app, name="api-reports")
    server.start()
    try:
        base = server.base_url
        denied = httpx.get(f"{base}/reports/summary",
                           headers={"Authorization": f"Bearer {mint(keys.rsa)}"})  # fmt: skip
        assert denied.status_code == 403
        token = mint(keys.rsa, scope="reports:read", sub="bi")
        ok = httpx.get(f"{base}/reports/summary", headers={"Authorization": f"Bearer {token}"})
        assert ok.json() == {"who": "bi"}
        weekly_ok = httpx.get(
            f"{base}/reports-weekly", headers={"Authorization": f"Bearer {token}"}
        )
        assert weekly_ok.json() == {"week": 7}
        assert httpx.get(f"{base}/reports-weekly").status_code == 401
        validate(httpx.get(f"{base}/openapi.json").json())
    finally:
        server.stop()


def test_jwks_is_refetched_for_an_unknown_key_id(api, keys, jwks, mint):
    from joserfc.jwk import RSAKey

    before = len(jwks.hits)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "rotated-2"})
    answer = get(api, "/audit/entries", mint(stranger))
    assert answer.status_code == 401
    assert "unknown key" in answer.json()["message"]
    assert len(jwks.hits) > before  # a rotation is looked up, not assumed
