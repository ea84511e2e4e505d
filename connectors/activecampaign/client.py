"""ActiveCampaign's API on leadbridge's one HTTP layer.

One `HttpClient` per connection: ``Api-Token`` auth, the account's shared limiter (5
requests per second, imports 100 per minute, import polls spaced by their own bucket so
nothing here sleeps), ``RateLimit-*`` header pacing, and AC's failure quirks: a 503 at
the rate limit is throttling (mediatoolkit/activecampaign-v3-php#18), and the importer's
"Rate limit exceeded." is throttling whether it comes as a 429 or, as the reference
shows it, a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from leadbridge.connectors.activecampaign.config import ActiveCampaignConfig
from leadbridge.core.auth import HeaderTokenAuth
from leadbridge.core.errors import RateLimited
from leadbridge.core.http import Category, HeaderParser, HttpClient
from leadbridge.core.ratelimit import RateLimiter, limiter_for, parse_ratelimit_headers
from leadbridge.core.redaction import install_log_redaction
from leadbridge.core.resolution import (
    DEFAULT_CLASSIFIER,
    Action,
    BodyRule,
    Classifier,
    Resolution,
)

__all__ = ["CONNECTOR", "ActiveCampaignApi", "activecampaign_classifier", "server_time"]

CONNECTOR = "activecampaign"
IMPORT_BUCKET = "import"
POLL_BUCKET = "import_poll"


def activecampaign_classifier() -> Classifier:
    """AC's failure table: 503 and the importer's "Rate limit exceeded." are throttling."""
    throttled = Resolution(
        Action.RATE_LIMITED, RateLimited, "throttled (ActiveCampaign answers 503 at its limit)"
    )
    import_limit = BodyRule(
        matches=lambda status, body: status in (400, 429) and b"Rate limit exceeded" in body,
        resolution=Resolution(
            Action.RATE_LIMITED, RateLimited, "bulk import limit reached (100 per minute)"
        ),
    )
    return DEFAULT_CLASSIFIER.with_overrides({503: throttled}, rules=(import_limit,))


def server_time(headers: Mapping[str, str]) -> int | None:
    """The server's clock from a response's ``Date`` header (epoch seconds), if it sent one."""
    raw = headers.get("date")
    if not raw:
        return None
    try:
        return int(parsedate_to_datetime(raw).timestamp())
    except (TypeError, ValueError):
        return None


class ActiveCampaignApi:
    """The connection's HTTP client and limiter; every call of the connector goes here."""

    def __init__(
        self, config: ActiveCampaignConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        install_log_redaction()
        self.config = config
        budgets = {name: (int(n), float(s)) for name, (n, s) in config.budgets.items()}
        general = {"default": budgets.get("default", (5, 1.0))}
        bulk = {
            IMPORT_BUCKET: budgets.get(IMPORT_BUCKET, (100, 60.0)),
            POLL_BUCKET: (1, config.import_poll_interval_s),
        }
        self.limiter: RateLimiter = limiter_for(config.limiter_key, general)
        # Imports and their status polls pace against their own limits; the RateLimit-*
        # headers describe the general window, so that client does not adopt them.
        self.bulk_limiter: RateLimiter = limiter_for(config.limiter_key + ":bulk", bulk)
        auth = HeaderTokenAuth(config.api_key.get_secret_value(), header="Api-Token", scheme=None)
        self.http = self._client(auth, self.limiter, parse_ratelimit_headers, transport)
        self.bulk = self._client(auth, self.bulk_limiter, None, transport)

    def _client(
        self,
        auth: httpx.Auth,
        limiter: RateLimiter,
        parser: HeaderParser | None,
        transport: httpx.BaseTransport | None,
    ) -> HttpClient:
        config = self.config
        return HttpClient(
            CONNECTOR,
            base_url=config.api_url + "/",
            auth=auth,
            limiter=limiter,
            header_parser=parser,
            classifier=activecampaign_classifier(),
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 10.0)),
            verify=config.verify,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def _for(self, bucket: str) -> HttpClient:
        return self.bulk if bucket in (IMPORT_BUCKET, POLL_BUCKET) else self.http

    def counts(self) -> dict[str, int]:
        """Calls made by both clients, by category."""
        total = self.http.counter.snapshot()
        for category, n in self.bulk.counter.snapshot().items():
            total[category] = total.get(category, 0) + n
        return total

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        category: Category = "read",
        bucket: str = "default",
    ) -> Any:
        """A paced, retried GET returning parsed JSON."""
        return self._for(bucket).call(
            "GET", path.lstrip("/"), params=params, category=category, bucket=bucket
        )

    def post(
        self, path: str, body: Any, *, category: Category = "write", bucket: str = "default"
    ) -> Any:
        """A paced POST returning parsed JSON (retried only on throttling and 5xx)."""
        return self._for(bucket).call(
            "POST", path.lstrip("/"), json=body, category=category, bucket=bucket
        )

    def get_dated(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        category: Category = "read",
        bucket: str = "default",
    ) -> tuple[Any, int | None]:
        """Like `get`, plus the server's clock when it answered (see `server_time`)."""
        response = self._for(bucket).send(
            "GET", path.lstrip("/"), params=params, category=category, bucket=bucket
        )
        return response.parsed, server_time(response.headers)

    def post_dated(
        self, path: str, body: Any, *, category: Category = "write", bucket: str = "default"
    ) -> tuple[Any, int | None]:
        """Like `post`, plus the server's clock when it answered (see `server_time`)."""
        response = self._for(bucket).send(
            "POST", path.lstrip("/"), json=body, category=category, bucket=bucket
        )
        return response.parsed, server_time(response.headers)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()
        self.bulk.close()
