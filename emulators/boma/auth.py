"""Who may call: a static bearer token, OAuth client-credentials tokens, an API key.

BOMA's v1 API takes ``Authorization: Bearer`` with either a personal access token or a
token from ``POST /v1/oauth/token`` (client credentials, RFC 6749 §4.4; client secret by
HTTP Basic or in the form). The /example API takes ``X-Api-Key``. Expired or unknown
tokens answer 401 with ``WWW-Authenticate`` (RFC 6750 §3).
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass

from leadbridge.emulators.boma.errors import BomaHTTPError

__all__ = ["TokenAuthority", "TokenGrant"]


@dataclass(frozen=True)
class TokenGrant:
    """An issued access token."""

    access_token: str
    expires_in: int
    scope: str


def _unauthorized(message: str, error: str = "invalid_token") -> BomaHTTPError:
    return BomaHTTPError(
        401,
        "unauthorized",
        message,
        headers={"WWW-Authenticate": f'Bearer realm="boma", error="{error}"'},
    )


class TokenAuthority:
    """Issues and checks credentials; thread-safe."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        static_token: str,
        api_key: str,
        token_ttl_s: int,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.static_token = static_token
        self.api_key = api_key
        self.token_ttl_s = token_ttl_s
        self.issued = 0
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def client_ok(self, authorization: str | None, form: dict[str, str]) -> bool:
        """Client authentication: HTTP Basic (preferred by RFC 6749) or form fields."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            client_id, _, secret = decoded.partition(":")
        return client_id == self.client_id and secret == self.client_secret

    def issue(self, scope: str) -> TokenGrant:
        """A new access token valid for the configured lifetime."""
        token = "boma_at_" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_s
            self.issued += 1
        return TokenGrant(token, self.token_ttl_s, scope)

    def expire_all(self) -> None:
        """Every token issued so far is expired from now on."""
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = 0.0

    def bearer(self, authorization: str | None) -> str:
        """The principal key of a valid bearer token; 401 otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _unauthorized("Missing bearer token.", "invalid_request")
        token = authorization[7:].strip()
        if secrets.compare_digest(token, self.static_token):
            return "pat"
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            raise _unauthorized("Unknown access token.")
        if expiry <= time.monotonic():
            raise _unauthorized("The access token expired.")
        return f"client:{self.client_id}"

    def key(self, api_key: str | None) -> str:
        """The principal key of a valid API key; 401 otherwise."""
        if not api_key or not secrets.compare_digest(api_key, self.api_key):
            raise BomaHTTPError(401, "unauthorized", "Invalid or missing X-Api-Key header.")
        return "api_key"
