"""The HubSpot SDK wired to leadbridge's one HTTP layer.

`HubSpotApi` owns one `HttpClient` (auth, pacing, retries, counting) and three
hubspot-api-client `Client`s whose ``api_factory`` routes every generated API through
it, one per call category (read, write, setup), so the counter can tell them apart.
Search requests go to the 5-per-second ``search`` bucket, everything else to
``default`` (https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from hubspot import Client as SdkClient

from leadbridge.connectors.hubspot.config import HubSpotConfig, OAuthConfig, PrivateAppAuth
from leadbridge.connectors.sdk_transport import map_exceptions, openapi_api_factory
from leadbridge.core.auth import (
    AuthorizationRequest,
    HeaderTokenAuth,
    OAuth2TokenSource,
    OAuthAuth,
    OAuthToken,
    TokenPersister,
    authorization_request,
)
from leadbridge.core.errors import ConfigError, PermanentAPIError
from leadbridge.core.http import Category, HttpClient
from leadbridge.core.ratelimit import limiter_for, parse_hubspot_headers
from leadbridge.core.redaction import install_log_redaction
from leadbridge.core.resolution import (
    DEFAULT_CLASSIFIER,
    Action,
    BodyRule,
    Classifier,
    Resolution,
)
from leadbridge.core.tokens import oauth_token_source

__all__ = ["CONNECTOR", "HubSpotApi", "hubspot_classifier", "search_bucket"]

CONNECTOR = "hubspot"
T = TypeVar("T")


def search_bucket(method: str, url: str) -> str:
    """``search`` for the CRM search endpoints (their own per-second limit), else default."""
    path = httpx.URL(url).path
    return "search" if method == "POST" and path.endswith("/search") else "default"


def hubspot_classifier() -> Classifier:
    """HubSpot's failure table: a 403 is a scope/tier refusal, a DAILY 429 is not retried.

    A 403 stays a `PermanentAPIError` with its status so callers can fall back (the
    Events API answers 403 below Enterprise). The daily allocation resets at midnight in
    the portal's time zone, so eight retries a few seconds apart only burn error budget.
    """
    daily = BodyRule(
        matches=lambda status, body: status == 429 and b'"DAILY"' in body,
        resolution=Resolution(
            Action.FAIL,
            PermanentAPIError,
            "daily API allocation exhausted (resets at midnight, portal time)",
        ),
    )
    forbidden = Resolution(Action.FAIL, PermanentAPIError, "forbidden (missing scope or tier)")
    return DEFAULT_CLASSIFIER.with_overrides({403: forbidden}, rules=(daily,))


class HubSpotApi:
    """The SDK's API objects, built once, all sending through one `HttpClient`."""

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        persister: TokenPersister | None = None,
        transport: httpx.BaseTransport | None = None,
        token_transport: httpx.BaseTransport | None = None,
    ) -> None:
        install_log_redaction()
        self.config = config
        self.token_source: OAuth2TokenSource | None = None
        auth = self._auth(config, persister, token_transport)
        budgets = {name: (int(n), float(s)) for name, (n, s) in config.budgets.items()}
        budgets.setdefault("default", (100, 10.0))
        self.limiter = limiter_for(f"{CONNECTOR}:{self._account_key(config)}", budgets)
        self.http = HttpClient(
            CONNECTOR,
            base_url=config.base_url,
            auth=auth,
            limiter=self.limiter,
            header_parser=parse_hubspot_headers,
            classifier=hubspot_classifier(),
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0)),
            verify=config.verify,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._sdk: dict[str, SdkClient] = {}
        self._apis: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------------

    def _auth(
        self,
        config: HubSpotConfig,
        persister: TokenPersister | None,
        token_transport: httpx.BaseTransport | None,
    ) -> httpx.Auth:
        auth = config.auth
        if isinstance(auth, PrivateAppAuth):
            return HeaderTokenAuth(auth.token.get_secret_value())
        if persister is None:
            raise ConfigError("OAuth needs a token store (persister) to keep tokens", key="auth")
        self.token_source = oauth_token_source(
            connector=CONNECTOR,
            token_url=auth.token_url,
            client_id=auth.client_id,
            client_secret=auth.client_secret.get_secret_value(),
            persister=persister,
            leeway_s=auth.refresh_leeway_s,
            transport=token_transport,
            verify=config.verify,
        )
        return OAuthAuth(self.token_source)

    @staticmethod
    def _account_key(config: HubSpotConfig) -> str:
        if config.account:
            return config.account
        auth = config.auth
        secret = (
            auth.token.get_secret_value() if isinstance(auth, PrivateAppAuth) else auth.client_id
        )
        digest = hashlib.sha256(f"{config.base_url}|{secret}".encode()).hexdigest()
        return digest[:16]

    def sdk(self, category: Category) -> SdkClient:
        """The hubspot-api-client `Client` whose calls are counted as `category`."""
        with self._lock:
            client = self._sdk.get(category)
            if client is None:
                factory = openapi_api_factory(
                    self.http, category=category, bucket_for=search_bucket
                )
                client = self._sdk[category] = SdkClient.create(api_factory=factory)
            return client

    def api(self, category: Category, name: str, build: Callable[[SdkClient], T]) -> T:
        """A cached SDK API object (`build` picks it off the discovery tree)."""
        key = (category, name)
        cached = self._apis.get(key)
        if cached is None:
            cached = self._apis[key] = build(self.sdk(category))
        return cached

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, translating any vendor exception at this boundary."""
        with map_exceptions(CONNECTOR, what):
            return fn()

    # -- OAuth ----------------------------------------------------------------------

    def _oauth(self) -> OAuthConfig:
        if not isinstance(self.config.auth, OAuthConfig):
            raise ConfigError("this connection uses a private-app token, not OAuth", key="auth")
        return self.config.auth

    def authorization_request(self) -> AuthorizationRequest:
        """The browser URL to start the authorization-code flow (PKCE S256, random state)."""
        return authorization_request(self._oauth())

    def complete_authorization(
        self, request: AuthorizationRequest, *, code: str, state: str
    ) -> OAuthToken:
        """Check the callback's state, then trade the code for tokens (persisted first)."""
        self._oauth()
        source = self.token_source
        if source is None:  # pragma: no cover - _oauth() guarantees an OAuth config
            raise ConfigError("OAuth is not configured", key="auth")
        return source.complete(request, code=code, state=state)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()
