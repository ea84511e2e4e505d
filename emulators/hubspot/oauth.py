"""OAuth 2 for the emulator: authorization code with PKCE (S256), refresh, bearer checks.

`GET /oauth/authorize` answers at once with a 302 to `redirect_uri?code=...&state=...`
(no consent screen), which is all a headless test needs. Access tokens live
`token_ttl_s`; refresh tokens never expire and are not rotated, as on HubSpot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from leadbridge.emulators.hubspot.errors import HubSpotHTTPError
from leadbridge.emulators.hubspot.limits import Principal

__all__ = ["ALL_SCOPES", "Grant", "OAuthAuthority", "OAuthFailure"]

ALL_SCOPES: tuple[str, ...] = (
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.emails.read",
    "crm.objects.calls.read",
    "crm.objects.meetings.read",
    "crm.objects.notes.read",
)
CODE_TTL_S = 600


class OAuthFailure(Exception):
    """A refused token request: HubSpot's `status` code word and message."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Grant:
    """What a code, access token or refresh token stands for."""

    client_id: str
    scopes: tuple[str, ...]
    expires_at: float = 0.0
    redirect_uri: str = ""
    challenge: str | None = None
    refresh_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class OAuthAuthority:
    """Issues and checks tokens for one portal."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        private_app_token: str,
        token_ttl_s: int,
        portal_id: int,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self._private_app_token = private_app_token
        self.token_ttl_s = token_ttl_s
        self.portal_id = portal_id
        self._lock = threading.Lock()
        self._codes: dict[str, Grant] = {}
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}

    # -- authorize -------------------------------------------------------------------------
    def issue_code(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scope: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> str:
        """A single-use authorization code; raises OAuthFailure on a bad request."""
        if client_id != self.client_id:
            raise OAuthFailure("BAD_CLIENT_ID", "missing or unknown client id")
        if not redirect_uri:
            raise OAuthFailure("BAD_REDIRECT_URI", "missing redirect_uri")
        if code_challenge and (code_challenge_method or "S256") != "S256":
            raise OAuthFailure("BAD_CODE_CHALLENGE", "only code_challenge_method=S256 is supported")
        scopes = tuple(scope.split()) if scope.strip() else ALL_SCOPES
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = Grant(
                client_id, scopes, time.time() + CODE_TTL_S, redirect_uri, code_challenge or None
            )
        return code

    # -- token endpoint --------------------------------------------------------------------
    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        """Serve `POST /oauth/v1/token`; raises OAuthFailure (-> 400) when refused."""
        grant_type = form.get("grant_type", "")
        if grant_type not in {"authorization_code", "refresh_token"}:
            raise OAuthFailure("BAD_GRANT_TYPE", f"unsupported grant_type '{grant_type}'")
        if form.get("client_id") != self.client_id:
            raise OAuthFailure("BAD_CLIENT_ID", "missing or unknown client id")
        if not hmac.compare_digest(form.get("client_secret", ""), self._client_secret):
            raise OAuthFailure("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if grant_type == "authorization_code":
            return self._from_code(form)
        with self._lock:
            grant = self._refresh.get(form.get("refresh_token", ""))
        if grant is None:
            raise OAuthFailure("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        return self._issue(grant.client_id, grant.scopes, form["refresh_token"])

    def _from_code(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time():
            raise OAuthFailure("BAD_AUTH_CODE", "missing or unknown auth code")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            raise OAuthFailure(
                "BAD_REDIRECT_URI", "redirect_uri does not match the one used to get the code"
            )
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not verifier or not hmac.compare_digest(expected, grant.challenge):
                raise OAuthFailure("BAD_AUTH_CODE", "code_verifier does not match code_challenge")
        refresh = f"na1-{secrets.token_hex(2)}-{secrets.token_hex(16)}"
        with self._lock:
            self._refresh[refresh] = Grant(grant.client_id, grant.scopes)
        return self._issue(grant.client_id, grant.scopes, refresh)

    def _issue(self, client_id: str, scopes: tuple[str, ...], refresh: str) -> dict[str, Any]:
        token = "CO" + secrets.token_urlsafe(96)
        with self._lock:
            self._access[token] = Grant(
                client_id, scopes, time.time() + self.token_ttl_s, refresh_token=refresh
            )
        return {
            "token_type": "bearer",
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": self.token_ttl_s,
            "token_use": "access_token",
            "hub_id": self.portal_id,
            "scopes": list(scopes),
        }

    def revoke_refresh(self, token: str) -> bool:
        """`DELETE /oauth/v1/refresh-tokens/{token}`."""
        with self._lock:
            return self._refresh.pop(token, None) is not None

    def introspect(self, token: str) -> dict[str, Any] | None:
        """`GET /oauth/v1/access-tokens/{token}` (None when unknown or expired)."""
        with self._lock:
            grant = self._access.get(token)
        if grant is None or grant.expires_at <= time.time():
            return None
        return {
            "token": token,
            "token_type": "access",
            "hub_id": self.portal_id,
            "app_id": 1_000_001,
            "user_id": 2_000_001,
            "user": "emulator@leadbridge.invalid",
            "hub_domain": "leadbridge-emulator.hubspot.com",
            "scopes": list(grant.scopes),
            "expires_in": int(grant.expires_at - time.time()),
        }

    def expire_all(self) -> None:
        """Expire every access token issued so far (refresh tokens stay valid)."""
        now = time.time()
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = min(grant.expires_at, now - 1)

    # -- bearer check ----------------------------------------------------------------------
    def authenticate(self, authorization: str | None, required_scope: str | None) -> Principal:
        """The caller, or a 401/403 with HubSpot's body."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _invalid_auth()
        if hmac.compare_digest(token, self._private_app_token):
            return Principal("private_app", "private-app")
        with self._lock:
            grant = self._access.get(token)
        if grant is None:
            raise _invalid_auth()
        if grant.expires_at <= time.time():
            ago = max(int((time.time() - grant.expires_at) // 60), 0)
            raise HubSpotHTTPError(
                401,
                f"The OAuth token used to make this call expired {ago} minute(s) ago.",
                "EXPIRED_AUTHENTICATION",
            )
        if required_scope and required_scope not in grant.scopes:
            raise HubSpotHTTPError(
                403,
                "This app hasn't been granted all required scopes to make this call.",
                "MISSING_SCOPES",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredScopes": [required_scope]},
                    }
                ],
                context={"missingScopes": [required_scope]},
            )
        return Principal("oauth", grant.client_id)


def _invalid_auth() -> HubSpotHTTPError:
    return HubSpotHTTPError(
        401,
        "Authentication credentials not found. This API supports OAuth 2.0 authentication "
        "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
        "oauth-overview",
        "INVALID_AUTHENTICATION",
    )
