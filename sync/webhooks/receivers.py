"""``POST /webhooks/<connection>``: verify, then queue durably, then acknowledge.

The order is the contract: nothing of the body is parsed before the signature (or token,
or organization id) checks out, and the 2xx goes out only after the events are committed
to the queue. A redelivered or replayed event id is acknowledged (so the sender stops
retrying) but not queued again. Refusals are one-line JSON errors: 401 for a bad proof,
400 for a malformed body, 413 for an oversized one, 404 for an unknown connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.core.errors import ConfigError, StateError
from leadbridge.sync.metrics import DaemonMetrics
from leadbridge.sync.webhooks.config import Sender, WebhookSettings
from leadbridge.sync.webhooks.events import (
    InboundEvent,
    activecampaign_events,
    boma_events,
    hubspot_events,
    salesforce_ack,
    salesforce_cdc_events,
    salesforce_outbound_events,
)
from leadbridge.sync.webhooks.queue import EventQueue
from leadbridge.sync.webhooks.signatures import (
    WebhookRejected,
    verify_hubspot_v3,
    verify_leadbridge,
    verify_token,
)

__all__ = ["Endpoint", "Reply", "WebhookReceiver"]

log = logging.getLogger("leadbridge.webhooks")

TOKEN_HEADER = "x-leadbridge-token"


@dataclass(frozen=True)
class Endpoint:
    """One connection's webhook: its format, settings and resolved secret."""

    connection: str
    sender: Sender
    settings: WebhookSettings
    secret: str | None

    def __post_init__(self) -> None:
        if self.secret is None and self.sender != "salesforce":
            raise ConfigError(
                f"a {self.sender} webhook needs a secret (set secret_env)",
                key=f"connection.{self.connection}.webhook.secret_env",
            )
        if self.sender == "salesforce" and self.settings.organization_id is None:
            raise ConfigError(
                "a Salesforce webhook needs the organization_id it accepts messages from",
                key=f"connection.{self.connection}.webhook.organization_id",
            )


@dataclass(frozen=True)
class Reply:
    """What to answer."""

    status: int
    body: bytes
    media_type: str = "application/json"


def _json_reply(status: int, data: Mapping[str, object]) -> Reply:
    return Reply(status, orjson.dumps(data))


class WebhookReceiver:
    """The webhook routes of the daemon's HTTP service."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        queue: EventQueue,
        *,
        on_queued: Callable[[], None] | None = None,
        metrics: DaemonMetrics | None = None,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = 1_048_576,
    ) -> None:
        self.endpoints = {e.connection: e for e in endpoints}
        self.queue = queue
        self._on_queued = on_queued
        self._metrics = metrics
        self._clock = clock
        self._max_body = max_body_bytes

    def routes(self) -> list[Route]:
        return [Route("/webhooks/{connection}", self._endpoint, methods=["POST"])]

    async def _endpoint(self, request: Request) -> Response:
        connection = str(request.path_params["connection"])
        endpoint = self.endpoints.get(connection)
        if endpoint is None:
            return _response(_json_reply(404, {"error": "no webhook for this connection"}))
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            return _response(self._refused(endpoint, 413, "too_large", "body too large"))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body:
                return _response(self._refused(endpoint, 413, "too_large", "body too large"))
            chunks.append(chunk)
        reply = await run_in_threadpool(
            self.accept,
            endpoint,
            method=request.method,
            url=str(request.url),
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=b"".join(chunks),
        )
        return _response(reply)

    def accept(
        self,
        endpoint: Endpoint,
        *,
        method: str,
        url: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Verify, parse, queue; the reply tells the sender whether to retry."""
        try:
            events, ack = self._verified_events(endpoint, method, url, query, headers, body)
        except WebhookRejected as exc:
            return self._refused(endpoint, exc.status, exc.reason, str(exc))
        try:
            result = self.queue.enqueue(endpoint.connection, events)
        except StateError as exc:
            log.error("%s: webhook not queued: %s", endpoint.connection, exc)
            if self._metrics is not None:
                self._metrics.webhook_request(endpoint.connection, "queue_error")
            return _json_reply(503, {"error": "queue unavailable; retry later"})
        if self._metrics is not None:
            self._metrics.webhook_request(endpoint.connection, "accepted", events=result.accepted)
            if result.duplicates:
                self._metrics.webhook_request(
                    endpoint.connection, "duplicate", events=result.duplicates
                )
        if result.accepted and self._on_queued is not None:
            self._on_queued()
        if ack is not None:
            return Reply(200, ack, "text/xml")
        return _json_reply(200, {"accepted": result.accepted, "duplicates": result.duplicates})

    def _refused(self, endpoint: Endpoint, status: int, reason: str, message: str) -> Reply:
        log.warning("%s: webhook refused (%s): %s", endpoint.connection, reason, message)
        if self._metrics is not None:
            self._metrics.webhook_request(endpoint.connection, f"rejected_{reason}")
        return _json_reply(status, {"error": message})

    def _verified_events(
        self,
        endpoint: Endpoint,
        method: str,
        url: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[list[InboundEvent], bytes | None]:
        now = self._clock()
        max_age = float(endpoint.settings.max_age_s)
        secret = endpoint.secret
        if endpoint.sender == "hubspot":
            assert secret is not None  # checked when the endpoint was built
            signed_url = url
            if endpoint.settings.public_url is not None:
                signed_url = endpoint.settings.public_url + (f"?{query}" if query else "")
            verify_hubspot_v3(
                headers,
                secret=secret,
                method=method,
                uri=signed_url,
                body=body,
                now_s=now,
                max_age_s=max_age,
            )
            return hubspot_events(body), None
        if endpoint.sender == "salesforce":
            if "json" in headers.get("content-type", ""):
                if secret is None:
                    raise WebhookRejected(
                        "change events need a signing secret", reason="missing_header"
                    )
                verify_leadbridge(headers, secret=secret, body=body, now_s=now, max_age_s=max_age)
                return salesforce_cdc_events(body), None
            if secret is not None:
                verify_token(_token(query, headers), secret=secret)
            events = salesforce_outbound_events(
                body, organization_id=endpoint.settings.organization_id
            )
            return events, salesforce_ack()
        if endpoint.sender == "activecampaign":
            assert secret is not None
            verify_token(_token(query, headers), secret=secret)
            return activecampaign_events(body), None
        assert secret is not None
        verify_leadbridge(headers, secret=secret, body=body, now_s=now, max_age_s=max_age)
        return boma_events(body), None


def _token(query: str, headers: Mapping[str, str]) -> str | None:
    values = parse_qs(query).get("token")
    return values[0] if values else headers.get(TOKEN_HEADER)


def _response(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)
