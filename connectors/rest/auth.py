"""Request authentication for profile-declared CRMs.

Bearer tokens and API-key headers reuse core's `HeaderTokenAuth`. OAuth 2.0 client
credentials (RFC 6749 §4.4) has no refresh token, so core's refresh-grant source does
not fit: `ClientCredentialsSource` simply asks for a new token (authlib's
``grant_type="client_credentials"``) ahead of expiry, single-flight, and once more when
the API answers 401 (`ClientCredentialsAuth`).
"""

from __future__ import annotations

import ssl
import threading
import warnings
from collections.abc import Generator

import httpx
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # authlib 1.9 warns (always) that it would rather use the `httpx2` fork (see core.auth).
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

from leadbridge.connectors.rest.profile import (
    ApiKeyAuth,
    AuthSpec,
    BearerAuth,
    OAuthClientCredentials,
)
from leadbridge.core.auth import HeaderTokenAuth, OAuthToken
from leadbridge.core.errors import AuthError, ConfigError
from leadbridge.core.redaction import register_secret

__all__ = ["ClientCredentialsAuth", "ClientCredentialsSource", "Credentials", "build_auth"]


class Credentials:
    """The secrets a connection supplies (settings or environment, never the profile)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        api_key: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        register_secret(token, api_key, client_secret)
        self.token = token
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret


class ClientCredentialsSource:
    """Access tokens from the client-credentials grant, fetched again before expiry."""

    def __init__(
        self,
        *,
        connector: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        endpoint_auth: str = "client_secret_basic",
        leeway_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        register_secret(client_secret)
        self.connector = connector
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.endpoint_auth = endpoint_auth
        self.leeway_s = leeway_s
        self.fetches = 0
        self._transport = transport
        self._verify = verify
        self._lock = threading.Lock()
        self._token: OAuthToken | None = None

    def current(self) -> OAuthToken:
        """A token valid for at least the leeway (fetched now if needed)."""
        token = self._token
        if token is None or token.expires_within(self.leeway_s):
            return self.renew(stale_access_token=token.access_token if token else None)
        return token

    def renew(self, *, stale_access_token: str | None) -> OAuthToken:
        """Fetch a new token once for every caller holding `stale_access_token`."""
        with self._lock:
            token = self._token
            if (
                token is not None
                and token.access_token != stale_access_token
                and not token.expires_within(self.leeway_s)
            ):
                return token  # another thread already fetched a fresh one
            client = OAuth2Client(
                client_id=self.client_id,
                client_secret=self.client_secret,
                scope=self.scope,
                token_endpoint_auth_method=self.endpoint_auth,
                transport=self._transport,
                # A CA bundle path becomes an SSL context (httpx deprecates `verify=<path>`).
                verify=(
                    ssl.create_default_context(cafile=self._verify)
                    if isinstance(self._verify, str)
                    else self._verify
                ),
                timeout=30.0,
            )
            try:
                with client:
                    data = client.fetch_token(self.token_url, grant_type="client_credentials")
            except OAuthError as exc:
                raise AuthError(
                    f"client-credentials grant refused: {exc.error or 'oauth error'}",
                    connector=self.connector,
                ) from exc
            except httpx.HTTPError as exc:
                raise AuthError(
                    f"token endpoint unreachable: {type(exc).__name__}", connector=self.connector
                ) from exc
            except ValueError as exc:
                raise AuthError(
                    "token endpoint answered something that is not a token",
                    connector=self.connector,
                ) from exc
            fresh = OAuthToken.from_response(data)
            self._token = fresh
            self.fetches += 1
            return fresh


class ClientCredentialsAuth(httpx.Auth):
    """Bearer token from the client-credentials source; one new token and re-send on 401."""

    def __init__(self, source: ClientCredentialsSource) -> None:
        self.source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.source.current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            fresh = self.source.renew(stale_access_token=token.access_token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request


def build_auth(
    spec: AuthSpec,
    credentials: Credentials,
    *,
    connector: str,
    base_url: str,
    transport: httpx.BaseTransport | None = None,
    verify: bool | str = True,
) -> httpx.Auth:
    """The request flow a profile's ``[auth]`` asks for; a missing secret is a ConfigError."""
    if isinstance(spec, BearerAuth):
        if not credentials.token:
            raise ConfigError("bearer auth needs a 'token' setting", key="token")
        return HeaderTokenAuth(credentials.token)
    if isinstance(spec, ApiKeyAuth):
        if not credentials.api_key:
            raise ConfigError("api_key auth needs an 'api_key' setting", key="api_key")
        return HeaderTokenAuth(credentials.api_key, header=spec.header, scheme=spec.scheme)
    if isinstance(spec, OAuthClientCredentials):
        if not credentials.client_id:
            raise ConfigError("client-credentials auth needs 'client_id'", key="client_id")
        if not credentials.client_secret:
            raise ConfigError("client-credentials auth needs 'client_secret'", key="client_secret")
        token_url = spec.token_url
        if not token_url.startswith(("http://", "https://")):
            token_url = base_url.rstrip("/") + "/" + token_url.lstrip("/")
        source = ClientCredentialsSource(
            connector=connector,
            token_url=token_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            scope=spec.scope,
            endpoint_auth=spec.endpoint_auth,
            leeway_s=spec.leeway_s,
            transport=transport,
            verify=verify,
        )
        return ClientCredentialsAuth(source)
    raise ConfigError(f"unsupported auth type {spec!r}", key="auth.type")  # pragma: no cover
