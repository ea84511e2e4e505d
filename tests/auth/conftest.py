"""A tiny OAuth server that rotates refresh tokens (RFC 9700 §4.14.2), on 127.0.0.1.

Every refresh issues a new refresh token and supersedes the presented one. Presenting a
superseded token revokes the whole family, except, in ``grace`` mode, the immediate
predecessor while its successor has never been presented (the "response was lost"
case that rotation grace windows exist for). `delay_s` holds the response *after* the
rotation is committed, so a test can SIGKILL the client between the server's rotation
and the client's persist.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadbridge.core.auth import OAuthToken
from leadbridge.core.tokens import EncryptedTokenStore, EnvKeySource, LockedTokenSource
from leadbridge.emulators.common.server import ServerThread

CLIENT_ID = "rot-client"


@dataclass
class Family:
    active: str
    previous: str | None = None
    revoked: bool = False


@dataclass
class RotatingOAuthServer:
    client_secret: str = "rot-secret-0123456789"
    mode: Literal["grace", "strict"] = "grace"
    ttl_s: int = 3600
    delay_s: float = 0.0
    prefix: str = "rot"
    refresh_requests: int = 0
    revocations: int = 0
    grace_reuses: int = 0
    rotated: threading.Event = field(default_factory=threading.Event)
    issued: list[str] = field(default_factory=list)
    _families: dict[str, Family] = field(default_factory=dict)
    _by_refresh: dict[str, str] = field(default_factory=dict)
    _access: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ServerThread | None = None

    # -- issuing --------------------------------------------------------------------------
    def _new(self, family_id: str) -> dict[str, Any]:
        access = f"{self.prefix}-at-{secrets.token_urlsafe(24)}"
        refresh = f"{self.prefix}-rt-{secrets.token_urlsafe(24)}"
        self._by_refresh[refresh] = family_id
        self._access[access] = (family_id, time.time() + self.ttl_s)
        self.issued += [access, refresh]
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.ttl_s,
        }

    def grant(self, *, expired: bool = False) -> OAuthToken:
        """A fresh family, as a completed authorization-code flow would create."""
        with self._lock:
            family_id = secrets.token_hex(8)
            data = self._new(family_id)
            self._families[family_id] = Family(active=data["refresh_token"])
        token = OAuthToken.from_response(data)
        if expired:
            token = token.model_copy(update={"expires_at": time.time() - 10})
        return token

    def _refresh(self, presented: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.refresh_requests += 1
            family_id = self._by_refresh.get(presented)
            family = self._families.get(family_id or "")
            if family is None or family.revoked:
                return 400, {"error": "invalid_grant", "error_description": "unknown or revoked"}
            if presented == family.active:
                data = self._new(family_id or "")
                family.previous, family.active = presented, data["refresh_token"]
                return 200, data
            if self.mode == "grace" and presented == family.previous:
                # its successor was never presented: the client lost our answer
                self.grace_reuses += 1
                data = self._new(family_id or "")
                family.active = data["refresh_token"]
                return 200, data
            family.revoked = True
            self.revocations += 1
            return 400, {"error": "invalid_grant", "error_description": "refresh token reused"}

    # -- HTTP -----------------------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        status, body = self._refresh(str(form.get("refresh_token", "")))
        if status == 200:
            self.rotated.set()
            started = time.monotonic()
            while time.monotonic() - started < self.delay_s:  # shortened when a test resets it
                await asyncio.sleep(0.02)
        return JSONResponse(body, status_code=status)

    async def _me(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            family_id, expires = self._access.get(token, ("", 0.0))
            family = self._families.get(family_id)
        if family is None or family.revoked or expires < time.time():
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"ok": True})

    @property
    def token_url(self) -> str:
        assert self._server is not None
        return f"{self._server.base_url}/token"

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return self._server.base_url

    def start(self) -> RotatingOAuthServer:
        app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/me", self._me, methods=["GET"]),
            ]
        )
        self._server = ServerThread(app, name="rotating-oauth")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


@pytest.fixture
def rot_server() -> Iterator[RotatingOAuthServer]:
    server = RotatingOAuthServer().start()
    yield server
    server.stop()


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def make_store(tmp_path, fernet_key):
    def make(connection: str = "crm-main") -> EncryptedTokenStore:
        source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": fernet_key})
        return EncryptedTokenStore(tmp_path / "tokens.db", source, connection=connection)

    return make


@pytest.fixture
def make_source(rot_server):
    def make(store: EncryptedTokenStore, **kwargs: Any) -> LockedTokenSource:
        return LockedTokenSource(
            connector="rot",
            token_url=rot_server.token_url,
            client_id=CLIENT_ID,
            client_secret=rot_server.client_secret,
            persister=store,
            **kwargs,
        )

    return make
