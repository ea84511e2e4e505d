"""simple-salesforce wired to leadbridge's one HTTP layer.

`SalesforceApi` owns one `HttpClient` (auth, pacing, retries, counting) and three
simple-salesforce `Salesforce` objects, one per call category (read, write, setup), each
on a `requests.Session` whose adapter sends through that client, so the counter can tell
the categories apart while the SDK builds URLs and parses answers.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from leadbridge.connectors.salesforce.auth import JWTBearerTokenSource, load_private_key
from leadbridge.connectors.salesforce.config import JWTBearer, OAuthWebServer, SalesforceConfig
from leadbridge.connectors.salesforce.transport import (
    AllocationGuard,
    AllocationTransport,
    HttpClientAdapter,
    parse_limit_info,
    sdk_session,
)
from leadbridge.connectors.sdk_transport import map_exceptions
from leadbridge.core.auth import (
    AuthorizationRequest,
    OAuth2TokenSource,
    OAuthAuth,
    OAuthToken,
    TokenPersister,
    authorization_request,
)
from leadbridge.core.errors import (
    ConfigError,
    LeadbridgeError,
    NetworkError,
    PermanentAPIError,
    RateLimited,
)
from leadbridge.core.http import Category, HttpClient
from leadbridge.core.ratelimit import limiter_for
from leadbridge.core.redaction import install_log_redaction, redact
from leadbridge.core.resolution import DEFAULT_CLASSIFIER, Action, BodyRule, Classifier, Resolution
from leadbridge.core.tokens import oauth_token_source

__all__ = ["CONNECTOR", "SalesforceApi", "salesforce_classifier", "ssl_verify"]

CONNECTOR = "salesforce"
T = TypeVar("T")
_PLACEHOLDER_SESSION = "leadbridge-managed-session"
"""simple-salesforce insists on a session id; the real token is added by `OAuthAuth`."""


def salesforce_classifier() -> Classifier:
    """403 ``REQUEST_LIMIT_EXCEEDED`` is throttling, not a permission problem."""
    limit = BodyRule(
        matches=lambda status, body: status == 403 and b"REQUEST_LIMIT_EXCEEDED" in body,
        resolution=Resolution(Action.RATE_LIMITED, RateLimited, "API request limit exceeded"),
    )
    return DEFAULT_CLASSIFIER.with_overrides(rules=(limit,))


def ssl_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """Httpx wants an `SSLContext` for a custom CA bundle (a path is deprecated)."""
    if isinstance(verify, bool):
        return verify
    if not Path(verify).is_file():
        raise ConfigError(f"CA bundle {verify!r} does not exist", key="verify")
    return ssl.create_default_context(cafile=verify)


class SalesforceApi:
    """The SDK objects, built once, all sending through one `HttpClient`."""

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        persister: TokenPersister | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        install_log_redaction()
        self.config = config
        verify = ssl_verify(config.verify)
        self._token_transport = httpx.HTTPTransport(verify=verify)
        self.token_source = self._token_source(config, persister)
        budgets = {name: (int(n), float(s)) for name, (n, s) in config.budgets.items()}
        budgets.setdefault("default", (100, 1.0))
        account = config.account or hashlib.sha256(config.instance_url.encode()).hexdigest()[:16]
        self.limiter = limiter_for(f"{CONNECTOR}:{account}", budgets)
        self.guard = AllocationGuard(
            self.limiter, reserve=config.daily_reserve, retry_s=config.allocation_retry_s
        )
        inner = transport if transport is not None else httpx.HTTPTransport(verify=verify)
        self.http = HttpClient(
            CONNECTOR,
            base_url=config.instance_url,
            auth=OAuthAuth(self.token_source),
            limiter=self.limiter,
            header_parser=parse_limit_info,
            classifier=salesforce_classifier(),
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0)),
            transport=AllocationTransport(
                inner,
                allocation_s=config.allocation_retry_s,
                concurrency_s=config.concurrency_retry_s,
            ),
        )
        self._sdk: dict[str, Salesforce] = {}
        self._lock = threading.Lock()

    def _token_source(
        self, config: SalesforceConfig, persister: TokenPersister | None
    ) -> OAuth2TokenSource:
        auth = config.auth
        if isinstance(auth, JWTBearer):
            if auth.private_key_pem is not None:
                pem = auth.private_key_pem.get_secret_value()
            else:
                assert auth.private_key_file is not None
                try:
                    pem = auth.private_key_file.read_text()
                except OSError as exc:
                    raise ConfigError(
                        f"cannot read the private key file ({exc.strerror})",
                        key="auth.private_key_file",
                    ) from None
            return JWTBearerTokenSource(
                connector=CONNECTOR,
                token_url=auth.token_url,
                client_id=auth.client_id,
                username=auth.username,
                audience=auth.audience,
                private_key=load_private_key(pem),
                lifetime_s=auth.assertion_lifetime_s,
                transport=self._token_transport,
            )
        if persister is None:
            raise ConfigError("OAuth needs a token store (persister) to keep tokens", key="auth")
        secret = auth.client_secret.get_secret_value() if auth.client_secret else None
        return oauth_token_source(
            connector=CONNECTOR,
            token_url=auth.token_url,
            client_id=auth.client_id,
            client_secret=secret,
            persister=persister,
            # Salesforce sends no lifetime: never refresh ahead, rely on the 401.
            leeway_s=0.0,
            transport=self._token_transport,
        )

    def sdk(self, category: Category) -> Salesforce:
        """The simple-salesforce client whose calls are counted as `category`."""
        with self._lock:
            client = self._sdk.get(category)
            if client is None:
                adapter = HttpClientAdapter(self.http, category=category, guard=self.guard)
                client = self._sdk[category] = Salesforce(
                    instance_url=self.config.instance_url,
                    session_id=_PLACEHOLDER_SESSION,
                    version=self.config.api_version,
                    session=sdk_session(adapter),
                )
                if self.config.query_batch_size:
                    client.headers["Sforce-Query-Options"] = (
                        f"batchSize={self.config.query_batch_size}"
                    )
            return client

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, translating any vendor exception at this boundary."""
        with sdk_errors(what), map_exceptions(CONNECTOR, what):
            return fn()

    # -- OAuth ----------------------------------------------------------------------

    def _oauth(self) -> OAuthWebServer:
        if not isinstance(self.config.auth, OAuthWebServer):
            raise ConfigError("this connection uses the JWT bearer flow, not OAuth", key="auth")
        return self.config.auth

    def authorization_request(self) -> AuthorizationRequest:
        """The browser URL to start the web-server flow (PKCE S256, random state)."""
        return authorization_request(self._oauth())

    def complete_authorization(
        self, request: AuthorizationRequest, *, code: str, state: str
    ) -> OAuthToken:
        """Check the callback's state, then trade the code for tokens (persisted first)."""
        self._oauth()
        return self.token_source.complete(request, code=code, state=state)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()
        self._token_transport.close()


@contextmanager
def sdk_errors(what: str) -> Iterator[None]:
    """simple-salesforce's own exceptions (a failed Bulk job...) in our tree."""
    try:
        yield
    except LeadbridgeError:
        raise
    except SalesforceError as exc:
        raise PermanentAPIError(
            f"{what}: {type(exc).__name__}", connector=CONNECTOR, status=exc.status
        ) from exc
    except SalesforceOperationError as exc:
        detail = " ".join(redact(str(exc)).split())[:200]
        raise PermanentAPIError(f"{what}: {detail}", connector=CONNECTOR) from exc
    except requests.RequestException as exc:
        raise NetworkError(f"{what}: {type(exc).__name__}", connector=CONNECTOR) from exc
