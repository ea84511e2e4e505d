"""Salesforce's two server-side grants as `core.auth` token sources.

The web-server flow is core's `OAuth2TokenSource` unchanged (authorization code with
PKCE, refresh single-flight, rotated refresh tokens persisted before use). Salesforce
never says when a token expires, so no refresh happens ahead of time: the first
``401 INVALID_SESSION_ID`` makes `OAuthAuth` refresh once and re-send.

The JWT bearer flow has no refresh token: `JWTBearerTokenSource` signs a fresh RS256
assertion (``iss`` consumer key, ``sub`` username, ``aud`` login URL, ``exp`` a few
minutes ahead) whenever it needs a token, so `OAuthAuth` works the same way.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from leadbridge.core.auth import MemoryTokenPersister, OAuth2TokenSource, OAuthToken
from leadbridge.core.errors import AuthError, ConfigError, NeedsReauth
from leadbridge.core.redaction import register_secret

__all__ = ["JWT_GRANT", "JWTBearerTokenSource", "load_private_key"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def load_private_key(pem: str) -> RSAKey:
    """An RSA private key from PEM text, or a `ConfigError` that does not echo it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key = RSAKey.import_key(pem)
    except (JoseError, ValueError, TypeError):
        raise ConfigError("not an RSA private key in PEM format", key="auth.private_key") from None
    if not key.is_private:
        raise ConfigError(
            "the PEM holds a public key; the private key is needed", key="auth.private_key"
        )
    return key


class JWTBearerTokenSource(OAuth2TokenSource):
    """Mints tokens with signed assertions; 'refresh' means minting a new one."""

    def __init__(
        self,
        *,
        connector: str,
        token_url: str,
        client_id: str,
        username: str,
        audience: str,
        private_key: RSAKey,
        lifetime_s: int = 180,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            connector=connector,
            token_url=token_url,
            client_id=client_id,
            client_secret=None,
            persister=MemoryTokenPersister(),
            transport=transport,
        )
        self.username = username
        self.audience = audience
        self._key = private_key
        self.lifetime_s = lifetime_s
        self.mints = 0

    def current(self) -> OAuthToken:
        """The token in hand, or a freshly minted one."""
        token = self._token
        if token is not None:
            return token
        return self.refresh()

    def refresh(self, *, stale_access_token: str | None = None) -> OAuthToken:
        """Mint once for everyone holding `stale_access_token`."""
        with self._lock:
            token = self._token
            if token is not None and (
                stale_access_token is None or token.access_token != stale_access_token
            ):
                return token
            fresh = self._mint()
            self._token = fresh
            self.persister.save(fresh)
            self.mints += 1
            return fresh

    def assertion(self) -> str:
        """A signed RS256 assertion valid for `lifetime_s`."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": now + self.lifetime_s,
        }
        return jwt.encode({"alg": "RS256"}, claims, self._key)

    def _mint(self) -> OAuthToken:
        assertion = self.assertion()
        register_secret(assertion)
        with self._client() as client:
            try:
                data: Any = client.fetch_token(
                    self.token_url, grant_type=JWT_GRANT, assertion=assertion
                )
            except OAuthError as exc:
                if exc.error in ("invalid_grant", "invalid_client_id", "invalid_client"):
                    raise NeedsReauth(
                        f"JWT bearer grant refused ({exc.error}: {exc.description or ''}); "
                        "check the connected app, its certificate and the user's approval",
                        connector=self.connector,
                    ) from exc
                raise AuthError(
                    f"JWT bearer grant failed: {exc.error}", connector=self.connector
                ) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise AuthError(
                    f"JWT bearer grant failed: {type(exc).__name__}", connector=self.connector
                ) from exc
        return OAuthToken.from_response(data)
