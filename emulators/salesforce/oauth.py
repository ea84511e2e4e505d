"""The org's OAuth 2.0 server: web-server flow with PKCE, refresh, JWT bearer.

Faithful where integrations trip:

- the token reply has **no** ``expires_in``: a token simply stops working after the
  session timeout, and the API answers ``401 INVALID_SESSION_ID``;
- redirect URIs match exactly, PKCE is S256 and checked against the verifier;
- with refresh token rotation on, every refresh returns a new refresh token, and reusing
  a superseded one revokes the whole family (RFC 9700 §4.14.2);
- the JWT bearer grant verifies the RS256 signature against the connected app's
  certificate, and the ``iss``/``sub``/``aud``/``exp`` claims; it issues no refresh token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from leadbridge.emulators.salesforce.errors import SalesforceHTTPError, oauth_error

__all__ = ["AUDIENCES", "OAuthServer", "Session"]

AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Session:
    """One access token: who, which family, and until when it is valid."""

    token: str
    family: str
    expires_at: float
    client_id: str


@dataclass
class _Family:
    """A login's chain of refresh tokens (one active; superseded ones remembered)."""

    client_id: str
    scope: str
    active_refresh: str | None
    superseded: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    scope: str
    expires_at: float


class OAuthServer:
    """Issues and checks tokens for one connected app (plus a static session id)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: tuple[str, ...],
        jwt_public_key_pem: str | None,
        usernames: Callable[[], set[str]],
        session_timeout_s: Callable[[], float],
        rotate_refresh: Callable[[], bool],
        org_id: str,
        static_session_id: str,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris
        self.jwt_key = RSAKey.import_key(jwt_public_key_pem) if jwt_public_key_pem else None
        self._usernames = usernames
        self._timeout = session_timeout_s
        self._rotate = rotate_refresh
        self.org_id = org_id
        self.static_session_id = static_session_id
        self.instance_url = ""
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._families: dict[str, _Family] = {}
        self._refresh_index: dict[str, str] = {}
        self._codes: dict[str, _Code] = {}
        self.refreshes = 0
        self.jwt_grants = 0

    # -- API authentication --------------------------------------------------------

    def authenticate(self, header: str | None) -> None:
        """Accept a live bearer token or raise 401 INVALID_SESSION_ID."""
        token = header[7:].strip() if header and header[:7].lower() == "bearer " else None
        if token and token == self.static_session_id:
            return
        with self._lock:
            session = self._sessions.get(token or "")
            family = self._families.get(session.family) if session else None
            alive = (
                session is not None
                and family is not None
                and not family.revoked
                and session.expires_at > time.time()
            )
        if not alive:
            raise SalesforceHTTPError(401, "Session expired or invalid", "INVALID_SESSION_ID")

    def expire_all(self) -> None:
        """Every access token issued so far dies now (the session timeout, fast-forwarded)."""
        with self._lock:
            for session in self._sessions.values():
                session.expires_at = 0.0

    # -- authorization endpoint -----------------------------------------------------

    def authorize(self, params: Mapping[str, str]) -> str:
        """Approve the request at once (a logged-in user) and return the redirect URL."""
        if params.get("client_id") != self.client_id:
            raise oauth_error("invalid_client_id", "client identifier invalid")
        redirect = params.get("redirect_uri", "")
        if redirect not in self.redirect_uris:
            raise oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if params.get("response_type") != "code":
            raise oauth_error("unsupported_response_type", "response type not supported")
        method = params.get("code_challenge_method")
        challenge = params.get("code_challenge")
        if challenge and method not in (None, "S256"):
            raise oauth_error("invalid_request", "code_challenge_method must be S256")
        code = "aPrx" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                self.client_id,
                redirect,
                challenge,
                method or ("S256" if challenge else None),
                params.get("scope", "api refresh_token"),
                time.time() + 900,
            )
        state = params.get("state")
        sep = "&" if "?" in redirect else "?"
        query = f"code={code}" + (f"&state={state}" if state else "")
        return f"{redirect}{sep}{query}"

    # -- token endpoint --------------------------------------------------------------

    def token(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, str]:
        """Answer one token request (form already parsed)."""
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            return self._code_grant(form, basic)
        if grant == "refresh_token":
            return self._refresh_grant(form, basic)
        if grant == JWT_GRANT:
            return self._jwt_grant(form)
        raise oauth_error("unsupported_grant_type", "grant type not supported")

    def _client(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, *, pkce: bool
    ) -> None:
        client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
        if client_id != self.client_id:
            raise oauth_error("invalid_client_id", "client identifier invalid")
        if secret is None and pkce:
            return  # a public client proves itself with the PKCE verifier
        if secret is None or not hmac.compare_digest(secret, self.client_secret):
            raise oauth_error("invalid_client", "invalid client credentials")

    def _code_grant(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, str]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier")
        self._client(form, basic, pkce=bool(code and code.challenge and verifier))
        if code is None or code.expires_at < time.time():
            raise oauth_error("invalid_grant", "invalid authorization code")
        if form.get("redirect_uri") != code.redirect_uri:
            raise oauth_error("invalid_grant", "redirect_uri must match configuration")
        if code.challenge is not None:
            digest = hashlib.sha256((verifier or "").encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not verifier or not hmac.compare_digest(expected, code.challenge):
                raise oauth_error("invalid_grant", "invalid code verifier")
        refresh = "5Aep" + secrets.token_urlsafe(40)
        family = secrets.token_hex(8)
        with self._lock:
            self._families[family] = _Family(code.client_id, code.scope, refresh)
            self._refresh_index[refresh] = family
        reply = self._issue(family, code.scope)
        reply["refresh_token"] = refresh
        return reply

    def _refresh_grant(
        self, form: Mapping[str, str], basic: tuple[str, str] | None
    ) -> dict[str, str]:
        self._client(form, basic, pkce=False)
        presented = form.get("refresh_token", "")
        with self._lock:
            family_id = self._refresh_index.get(presented)
            family = self._families.get(family_id) if family_id else None
            if family is None or family.revoked:
                raise oauth_error("invalid_grant", "expired access/refresh token")
            if presented in family.superseded:
                family.revoked = True  # reuse of a rotated token: revoke the whole family
                raise oauth_error("invalid_grant", "expired access/refresh token")
            rotated: str | None = None
            if self._rotate():
                rotated = "5Aep" + secrets.token_urlsafe(40)
                family.superseded.add(presented)
                family.active_refresh = rotated
                self._refresh_index[rotated] = family_id or ""
            self.refreshes += 1
        reply = self._issue(family_id or "", family.scope)
        if rotated is not None:
            reply["refresh_token"] = rotated
        return reply

    def _jwt_grant(self, form: Mapping[str, str]) -> dict[str, str]:
        if self.jwt_key is None:
            raise oauth_error("invalid_grant", "invalid assertion")
        try:
            token = jwt.decode(form.get("assertion", ""), self.jwt_key, algorithms=["RS256"])
        except (JoseError, ValueError):
            raise oauth_error("invalid_grant", "invalid assertion") from None
        claims = token.claims
        now = time.time()
        if claims.get("iss") != self.client_id:
            raise oauth_error("invalid_client_id", "client identifier invalid")
        if claims.get("aud") not in (*AUDIENCES, self.instance_url):
            raise oauth_error("invalid_grant", "audience is invalid")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp < now or exp > now + 600:
            raise oauth_error("invalid_grant", "expired authorization code")
        if claims.get("sub") not in self._usernames():
            raise oauth_error("invalid_grant", "user hasn't approved this consumer")
        family = secrets.token_hex(8)
        with self._lock:
            self._families[family] = _Family(self.client_id, "api", None)
            self.jwt_grants += 1
        return self._issue(family, "api")

    def _issue(self, family: str, scope: str) -> dict[str, str]:
        access = f"{self.org_id[:15]}!" + secrets.token_urlsafe(48)
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.instance_url}/id/{self.org_id}/005000000000001AAA"
        signature = base64.b64encode(
            hmac.new(
                self.client_secret.encode(), (identity + issued_at).encode(), "sha256"
            ).digest()
        ).decode()
        with self._lock:
            self._sessions[access] = Session(
                access, family, time.time() + self._timeout(), self.client_id
            )
        return {
            "access_token": access,
            "signature": signature,
            "scope": scope,
            "instance_url": self.instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
