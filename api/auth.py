"""OAuth 2.0 bearer tokens (RFC 6750) as JWTs (RFC 9068), checked against a JWKS.

A request is let through only if its token

- is a compact JWS signed by a key of the configured JWKS (fetched over https, cached,
  refetched when a token names an unknown ``kid``, at most every few seconds so a flood
  of garbage tokens cannot turn into a flood of JWKS requests),
- uses an allowed *asymmetric* algorithm (``alg`` is never trusted to pick the verifier:
  an HS256 token "signed" with an RSA public key is refused),
- carries the configured ``iss`` and ``aud``, an ``exp`` in the future and no ``nbf`` /
  ``iat`` in the future (each with a small leeway for clock skew),
- holds the route's scope in ``scope`` (space-separated, RFC 8693/9068) or ``scp``.

Failures answer 401 with ``WWW-Authenticate: Bearer error="invalid_token"`` or 403 with
``error="insufficient_scope"`` (RFC 6750 §3). JOSE is handled by joserfc, the authlib
project's JOSE library (``authlib.jose`` is deprecated in its favour).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from leadbridge.api.settings import ApiSettings
from leadbridge.core.errors import ConfigError

__all__ = ["AuthFailure", "JWKSProvider", "Principal", "TokenValidator", "bearer_token"]


@dataclass(frozen=True)
class Principal:
    """Who called: the token's subject, client and granted scopes."""

    subject: str
    client_id: str | None
    scopes: frozenset[str]
    token_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"api:{self.subject}"


class AuthFailure(Exception):
    """A refused request: HTTP status, RFC 6750 error code and a safe description."""

    def __init__(self, status: int, error: str | None, description: str, scope: str = "") -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.scope = scope

    def challenge(self) -> str:
        """The ``WWW-Authenticate`` header value."""
        parts = ['Bearer realm="leadbridge"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{self.description}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return ", ".join(parts)


class _Registry(JWSRegistry):
    """Accepts the polymorphic ``EdDSA`` name as what it is with an Ed25519 key.

    RFC 9864 deprecates ``EdDSA`` in favour of the fully specified ``Ed25519``; identity
    providers still issue it, and with an Ed25519 key the two are the same algorithm.
    """

    def get_alg(self, name: str) -> Any:
        return super().get_alg("Ed25519" if name == "EdDSA" else name)


class JWKSProvider:
    """The issuer's public keys from a URL (cached) or a file; symmetric keys are dropped."""

    def __init__(
        self,
        *,
        url: str | None = None,
        file: str | None = None,
        cache_s: float = 300.0,
        refresh_min_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (file is None):
            raise ConfigError("give exactly one of a JWKS URL or file", key="api.jwks_url")
        self.url = url
        self.file = file
        self.cache_s = cache_s
        self.refresh_min_s = refresh_min_s
        self.clock = clock
        self._transport = transport
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched = float("-inf")

    def _load(self) -> KeySet:
        if self.file is not None:
            try:
                data = json.loads(Path(self.file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read the JWKS: {exc}", file=self.file) from None
        else:
            assert self.url is not None
            try:
                with httpx.Client(
                    transport=self._transport, timeout=10.0, follow_redirects=False
                ) as client:
                    response = client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                data = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise ConfigError(f"cannot fetch the JWKS: {type(exc).__name__}") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise ConfigError("the JWKS is not a {'keys': [...]} document")
        public = [k for k in data["keys"] if isinstance(k, dict) and k.get("kty") != "oct"]
        try:
            return KeySet.import_key_set({"keys": public})
        except (JoseError, ValueError) as exc:
            raise ConfigError(f"the JWKS holds no usable public key: {exc}") from None

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The key set, refetched when stale or (rate-limited) when asked to."""
        with self._lock:
            age = self.clock() - self._fetched
            stale = self._keys is None or age >= self.cache_s
            if stale or (refresh and age >= self.refresh_min_s):
                self._keys = self._load()
                self._fetched = self.clock()
            assert self._keys is not None
            return self._keys


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or a 401."""
    if not header:
        raise AuthFailure(401, None, "a bearer token is required")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthFailure(401, "invalid_request", "use 'Authorization: Bearer <token>'")
    return token


class TokenValidator:
    """Validates access tokens for one issuer and audience."""

    def __init__(
        self,
        settings: ApiSettings,
        jwks: JWKSProvider,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.jwks = jwks
        self.now = now
        allowed = {"Ed25519" if a == "EdDSA" else a for a in settings.algorithms}
        self._algorithms = sorted(allowed)
        self._registry = _Registry(algorithms=self._algorithms)

    def _decode(self, token: str, keys: KeySet) -> jwt.Token:
        return jwt.decode(token, keys, algorithms=self._algorithms, registry=self._registry)

    def validate(self, token: str) -> Principal:
        """The caller behind a valid token; `AuthFailure` (401) otherwise."""
        if len(token) > 16_384 or token.count(".") != 2:
            raise AuthFailure(401, "invalid_token", "malformed token")
        try:
            try:
                decoded = self._decode(token, self.jwks.keys())
            except InvalidKeyIdError:
                decoded = self._decode(token, self.jwks.keys(refresh=True))  # key rotation
        except JoseError as exc:
            raise AuthFailure(401, "invalid_token", _why(exc)) from None
        except (ValueError, KeyError, TypeError):
            raise AuthFailure(401, "invalid_token", "malformed token") from None
        typ = str(decoded.header.get("typ", "JWT")).lower()
        if typ not in ("jwt", "at+jwt", "application/at+jwt"):
            raise AuthFailure(401, "invalid_token", "not an access token")
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.now()),
            leeway=self.settings.leeway_s,
            iss={"essential": True, "value": self.settings.issuer},
            aud={"essential": True, "value": self.settings.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise AuthFailure(401, "invalid_token", _why(exc)) from None
        return Principal(
            subject=str(claims["sub"]),
            client_id=_text(claims.get("client_id") or claims.get("azp")),
            scopes=_scopes(claims),
            token_id=_text(claims.get("jti")),
        )

    @staticmethod
    def require(principal: Principal, scope: str) -> None:
        """403 unless the token grants `scope`."""
        if scope not in principal.scopes:
            raise AuthFailure(403, "insufficient_scope", f"this call needs scope {scope}", scope)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return frozenset(found)


def _why(exc: JoseError) -> str:
    """A short, fixed description: token contents never echo back."""
    name = type(exc).__name__
    return {
        "BadSignatureError": "bad signature",
        "ExpiredTokenError": "token expired",
        "MissingClaimError": "a required claim is missing",
        "InvalidClaimError": "a claim has the wrong value (issuer, audience, not-before...)",
        "InvalidKeyIdError": "signed by an unknown key",
        "UnsupportedAlgorithmError": "algorithm not allowed",
    }.get(name, "invalid token")
