"""Authentication as httpx request flows; connectors never build auth headers.

- `HeaderTokenAuth`: a static credential in a header (HubSpot private-app token as
  ``Authorization: Bearer``, ActiveCampaign ``Api-Token``).
- `OAuthTokenAuth`: an OAuth 2.0 access token from an `OAuth2TokenSource`, refreshed
  ahead of expiry and once more on a 401, then the request is re-sent.

`OAuth2TokenSource` uses authlib for the grants (authorization code with PKCE S256,
refresh). Refresh is single-flight: threads that find the token stale wait for the one
that refreshes, and the new token is persisted *before* it is used, so a rotating
refresh token is never lost (RFC 9700 §4.14.2). ``invalid_grant`` means the grant is dead:
the source raises `NeedsReauth` and never retries it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Generator, Mapping
from typing import Any, Protocol

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # authlib 1.9 warns (always) that it would rather use the `httpx2` fork; leadbridge's
    # one HTTP layer is httpx, which authlib still fully supports.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import AuthError, ConfigError, NeedsReauth
from leadbridge.core.http import tls_verify
from leadbridge.core.redaction import register_secret

__all__ = [
    "AuthorizationRequest",
    "HeaderTokenAuth",
    "MemoryTokenPersister",
    "OAuth2TokenSource",
    "OAuthApp",
    "OAuthAuth",
    "OAuthToken",
    "TokenPersister",
    "authorization_request",
]


class OAuthToken(BaseModel):
    """An OAuth 2.0 token set; `expires_at` is epoch seconds (None: unknown)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_at: float | None = None
    scope: str | None = None

    @classmethod
    def from_response(
        cls, data: Mapping[str, Any], previous: OAuthToken | None = None
    ) -> OAuthToken:
        """Build from a token endpoint answer; keep the old refresh token if none is sent."""
        fields = dict(data)
        if fields.get("expires_at") is None and fields.get("expires_in") is not None:
            fields["expires_at"] = time.time() + float(fields["expires_in"])
        fields.pop("expires_in", None)
        if not fields.get("refresh_token") and previous is not None:
            fields["refresh_token"] = previous.refresh_token
        token = cls.model_validate(fields)
        register_secret(token.access_token, token.refresh_token)
        return token

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at is not None and self.expires_at - time.time() <= seconds


class TokenPersister(Protocol):
    """Where a token set lives between runs (the encrypted token store implements this)."""

    def load(self) -> OAuthToken | None:
        """The stored token, if any."""

    def save(self, token: OAuthToken) -> None:
        """Store durably (atomically) before the token is used."""

    def mark_needs_reauth(self, reason: str) -> None:
        """Record that a human must authorise again."""


class MemoryTokenPersister:
    """Keeps the token in memory: for tests and one-off runs."""

    def __init__(self, token: OAuthToken | None = None) -> None:
        self.token = token
        self.needs_reauth: str | None = None

    def load(self) -> OAuthToken | None:
        return self.token

    def save(self, token: OAuthToken) -> None:
        self.token = token

    def mark_needs_reauth(self, reason: str) -> None:
        self.needs_reauth = reason


class AuthorizationRequest(BaseModel):
    """The browser URL to open plus what the callback must be checked against."""

    model_config = ConfigDict(frozen=True)

    url: str
    state: str
    code_verifier: str
    redirect_uri: str


class OAuthApp(Protocol):
    """What a connector's OAuth settings say about the app a user authorises."""

    @property
    def authorize_url(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def redirect_uri(self) -> str: ...
    @property
    def scopes(self) -> tuple[str, ...]: ...


def authorization_request(app: OAuthApp) -> AuthorizationRequest:
    """Start an authorization-code flow with PKCE (S256) and a random state."""
    verifier = generate_token(64)
    state = secrets.token_urlsafe(24)
    client = OAuth2Client(
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scope=" ".join(app.scopes),
        code_challenge_method="S256",
    )
    url, _ = client.create_authorization_url(app.authorize_url, state=state, code_verifier=verifier)
    client.close()
    return AuthorizationRequest(
        url=url, state=state, code_verifier=verifier, redirect_uri=app.redirect_uri
    )


def _normalise_error_body(response: httpx.Response) -> httpx.Response:
    """Vendors answer a dead grant in their own words (HubSpot: ``BAD_REFRESH_TOKEN``).

    authlib only raises on a standard ``error`` field, so map the known shapes onto it.
    """
    if response.status_code < 400:
        return response
    try:
        data = response.json()
    except ValueError:
        return response
    if not isinstance(data, dict) or "error" in data:
        return response
    status = str(data.get("status", "")).upper()
    if status in {"BAD_REFRESH_TOKEN", "BAD_AUTH_CODE", "BAD_GRANT"} or response.status_code in (
        400,
        401,
    ):
        mapped = {"error": "invalid_grant", "error_description": str(data.get("message", status))}
        return httpx.Response(response.status_code, json=mapped, request=response.request)
    return response


class OAuth2TokenSource:
    """Hands out a valid access token; refreshes ahead of expiry, single-flight."""

    def __init__(
        self,
        *,
        connector: str,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        persister: TokenPersister,
        leeway_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
        on_refresh: Callable[[OAuthToken], None] | None = None,
    ) -> None:
        self.connector = connector
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.persister = persister
        self.leeway_s = leeway_s
        self.refreshes = 0
        self._lock = threading.Lock()
        self._token = persister.load()
        self._transport = transport
        self._verify = verify
        self._on_refresh = on_refresh
        register_secret(client_secret)
        if self._token is not None:
            register_secret(self._token.access_token, self._token.refresh_token)

    def _client(self) -> OAuth2Client:
        client = OAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",
            transport=self._transport,
            verify=tls_verify(self._verify),
            timeout=30.0,
        )
        client.register_compliance_hook("access_token_response", _normalise_error_body)
        client.register_compliance_hook("refresh_token_response", _normalise_error_body)
        return client

    def exchange_code(self, code: str, *, code_verifier: str, redirect_uri: str) -> OAuthToken:
        """Trade an authorization code for tokens and persist them."""
        with self._lock, self._client() as client:
            try:
                data = client.fetch_token(
                    self.token_url,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=redirect_uri,
                )
            except (OAuthError, httpx.HTTPError, ValueError) as exc:
                raise AuthError(
                    f"authorization code exchange failed: {_oauth_reason(exc)}",
                    connector=self.connector,
                ) from exc
            token = OAuthToken.from_response(data)
            self.persister.save(token)
            self._token = token
            return token

    def complete(self, request: AuthorizationRequest, *, code: str, state: str) -> OAuthToken:
        """Finish an authorization-code flow: check the callback's state, exchange the code."""
        if not hmac.compare_digest(state.encode(), request.state.encode()):
            raise ConfigError("OAuth callback state does not match the request", key="state")
        register_secret(code, request.code_verifier)
        return self.exchange_code(
            code, code_verifier=request.code_verifier, redirect_uri=request.redirect_uri
        )

    def current(self) -> OAuthToken:
        """A token valid for at least the leeway; refreshes first if needed."""
        token = self._token
        if token is None:
            token = self._token = self.persister.load()
        if token is None:
            raise NeedsReauth(
                "no OAuth token stored: run `leadbridge auth login`", connector=self.connector
            )
        if token.expires_within(self.leeway_s) and token.refresh_token:
            return self.refresh(stale_access_token=token.access_token)
        return token

    def refresh(self, *, stale_access_token: str | None = None) -> OAuthToken:
        """Refresh once for everyone holding `stale_access_token`."""
        with self._lock:
            token = self._token or self.persister.load()
            if token is None or not token.refresh_token:
                raise NeedsReauth(
                    "no refresh token: run `leadbridge auth login`", connector=self.connector
                )
            if stale_access_token is not None and token.access_token != stale_access_token:
                self._token = token
                return token  # another caller already refreshed
            with self._client() as client:
                try:
                    data = client.refresh_token(self.token_url, refresh_token=token.refresh_token)
                except OAuthError as exc:
                    if exc.error == "invalid_grant":
                        self.persister.mark_needs_reauth(f"refresh rejected: {exc.error}")
                        raise NeedsReauth(
                            "the refresh token was rejected (invalid_grant): "
                            "run `leadbridge auth login`",
                            connector=self.connector,
                        ) from exc
                    raise AuthError(
                        f"token refresh failed: {_oauth_reason(exc)}", connector=self.connector
                    ) from exc
                except (httpx.HTTPError, ValueError) as exc:
                    raise AuthError(
                        f"token refresh failed: {_oauth_reason(exc)}", connector=self.connector
                    ) from exc
            fresh = OAuthToken.from_response(data, previous=token)
            self.persister.save(
                fresh
            )  # persist before use: a rotated refresh token must survive a crash
            self._token = fresh
            self.refreshes += 1
            if self._on_refresh is not None:
                self._on_refresh(fresh)
            return fresh


def _oauth_reason(exc: Exception) -> str:
    if isinstance(exc, OAuthError):
        return exc.error or "oauth error"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


class HeaderTokenAuth(httpx.Auth):
    """A static credential sent in one header (``Authorization: Bearer …`` by default)."""

    def __init__(
        self, token: str, *, header: str = "Authorization", scheme: str | None = "Bearer"
    ) -> None:
        register_secret(token)
        self._header = header
        self._value = f"{scheme} {token}" if scheme else token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request


class OAuthAuth(httpx.Auth):
    """Bearer token from a token source; one refresh and one re-send on a 401."""

    def __init__(self, source: OAuth2TokenSource) -> None:
        self.source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.source.current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            fresh = self.source.refresh(stale_access_token=token.access_token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request
