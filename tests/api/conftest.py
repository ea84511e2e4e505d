"""An API server on 127.0.0.1 with a JWKS served from another loopback server.

Keys are generated per session (RSA, EC P-256, Ed25519); tokens are signed for real with
joserfc, and every request goes over HTTP to uvicorn.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leadbridge.api.app import create_app
from leadbridge.api.settings import ApiSettings
from leadbridge.audit import AuditKeys, AuditLog
from leadbridge.emulators.common.server import ServerThread
from leadbridge.privacy.config import parse_settings
from leadbridge.privacy.identity import Fingerprinter
from leadbridge.privacy.ropa import build_record
from leadbridge.privacy.service import PrivacyService
from leadbridge.sync.state import open_store

ISSUER = "https://idp.test/realms/leadbridge"
AUDIENCE = "leadbridge-api"


@dataclass
class Keys:
    rsa: RSAKey
    ec: ECKey
    ed: OKPKey
    other_rsa: RSAKey  # same kid as `rsa`, not in the JWKS: a forged signature

    def public_jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.rsa, self.ec, self.ed]).as_dict(private=False))


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa=RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"}),
        ec=ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"}),
        ed=OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1", "use": "sig"}),
        other_rsa=RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"}),
    )


@dataclass
class Jwks:
    server: ServerThread
    hits: list[float]

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/jwks.json"


@pytest.fixture(scope="session")
def jwks(keys: Keys) -> Iterator[Jwks]:
    hits: list[float] = []

    async def serve(request: Request) -> JSONResponse:
        hits.append(time.monotonic())
        return JSONResponse(keys.public_jwks())

    server = ServerThread(Starlette(routes=[Route("/jwks.json", serve)]), name="jwks")
    server.start()
    yield Jwks(server, hits)
    server.stop()


def mint(
    key: Any,
    *,
    alg: str = "RS256",
    scope: str | None = "audit:read",
    iss: str = ISSUER,
    aud: str | list[str] = AUDIENCE,
    exp_in: float = 300,
    sub: str = "client-tests",
    extra: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "sub": sub,
        "iat": now,
        "exp": now + int(exp_in),
    }
    if scope is not None:
        claims["scope"] = scope
    claims.update(extra or {})
    head = {"alg": alg, "kid": key.kid, "typ": "at+jwt", **(header or {})}
    with warnings.catch_warnings():
        # Identity providers still sign with the RFC 9864-deprecated name "EdDSA".
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(head, claims, key, algorithms=[alg])


@pytest.fixture(name="mint", scope="session")
def mint_fixture() -> Any:
    return mint


@pytest.fixture(name="idp", scope="session")
def idp_fixture() -> tuple[str, str]:
    return ISSUER, AUDIENCE


@dataclass
class Api:
    url: str
    service: PrivacyService
    audit: AuditLog
    settings: ApiSettings


def make_service(tmp: Path, audit: AuditLog, toml: dict[str, Any] | None = None) -> PrivacyService:
    settings = parse_settings(
        toml or {"state": str(tmp / "state.db"), "privacy": {"data_dir": str(tmp / "privacy")}},
        file=tmp / "leadbridge.toml",
    )
    store = open_store(settings.base.state)

    def no_connectors(name: str) -> Any:
        raise AssertionError(f"no CRM in this test ({name})")

    return PrivacyService(
        store=store,
        fingerprints=Fingerprinter(b"k" * 32),
        record=build_record(settings),
        connectors=no_connectors,
        audit=audit,
        data_dir=tmp / "privacy",
        settings=settings,
    )


@pytest.fixture
def api(tmp_path: Path, jwks: Jwks) -> Iterator[Api]:
    audit = AuditLog.open(
        tmp_path / "audit.db",
        AuditKeys.from_dir(tmp_path / "keys", env={}),
        export_dir=tmp_path / "anchors",
    )
    service = make_service(tmp_path, audit)
    settings = ApiSettings(
        issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks.url, jwks_refresh_min_s=0
    )
    app = create_app(settings, privacy=service, audit=audit, checkpoints_dir=tmp_path / "anchors")
    server = ServerThread(app, name="api")
    server.start()
    try:
        yield Api(server.base_url, service, audit, settings)
    finally:
        server.stop()
        service.close()
