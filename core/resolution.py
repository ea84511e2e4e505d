"""Classify a failed call; the HTTP client decides what to do from the result.

Classification is data: a literal table keyed by status code, plus per-connector rules
that look at the body (Salesforce says ``REQUEST_LIMIT_EXCEEDED`` with a 403, for
instance). Keeping it apart from the executor keeps the executor a short `match`.

    >>> DEFAULT_CLASSIFIER.classify_status(429, b"").action
    <Action.RATE_LIMITED: 'rate_limited'>
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from leadbridge.core.errors import (
    APIError,
    AuthError,
    NotFound,
    PermanentAPIError,
    RateLimited,
    ServerError,
    ValidationRejected,
)

__all__ = ["DEFAULT_CLASSIFIER", "Action", "BodyRule", "Classifier", "Resolution"]


class Action(StrEnum):
    """What the client should do about a response."""

    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REFRESH_AUTH = "refresh_auth"
    FAIL = "fail"


@dataclass(frozen=True)
class Resolution:
    """A verdict on one response: the action and the error type to raise if it fails."""

    action: Action
    error: type[APIError] | type[AuthError]
    message: str
    retry_after: float | None = None
    """A wait to assume when the server sends no ``Retry-After`` (e.g. an exhausted quota)."""


@dataclass(frozen=True)
class BodyRule:
    """A connector-specific rule: when `matches(status, body)`, use `resolution`."""

    matches: Callable[[int, bytes], bool]
    resolution: Resolution


_OK = Resolution(Action.OK, APIError, "ok")

DEFAULT_TABLE: Mapping[int, Resolution] = {
    400: Resolution(Action.FAIL, ValidationRejected, "bad request"),
    401: Resolution(Action.REFRESH_AUTH, AuthError, "authentication refused"),
    403: Resolution(Action.FAIL, AuthError, "forbidden (missing scope or tier)"),
    404: Resolution(Action.FAIL, NotFound, "not found"),
    405: Resolution(Action.FAIL, PermanentAPIError, "method not allowed"),
    408: Resolution(Action.RETRY, ServerError, "request timeout"),
    409: Resolution(Action.FAIL, ValidationRejected, "conflict"),
    413: Resolution(Action.FAIL, ValidationRejected, "payload too large"),
    414: Resolution(Action.FAIL, ValidationRejected, "URI too long"),
    422: Resolution(Action.FAIL, ValidationRejected, "unprocessable entity"),
    425: Resolution(Action.RETRY, ServerError, "too early"),
    429: Resolution(Action.RATE_LIMITED, RateLimited, "rate limited"),
    500: Resolution(Action.RETRY, ServerError, "server error"),
    502: Resolution(Action.RETRY, ServerError, "bad gateway"),
    503: Resolution(Action.RETRY, ServerError, "service unavailable"),
    504: Resolution(Action.RETRY, ServerError, "gateway timeout"),
}


@dataclass(frozen=True)
class Classifier:
    """Status table plus body rules; `with_overrides` derives a connector's classifier."""

    table: Mapping[int, Resolution] = field(default_factory=lambda: dict(DEFAULT_TABLE))
    rules: Sequence[BodyRule] = ()

    def classify_status(self, status: int, body: bytes) -> Resolution:
        """Resolve a status code (and body, for the connector's rules)."""
        if 200 <= status < 300:
            return _OK
        for rule in self.rules:
            if rule.matches(status, body):
                return rule.resolution
        if status in self.table:
            return self.table[status]
        if status >= 500:
            return Resolution(Action.RETRY, ServerError, "server error")
        return Resolution(Action.FAIL, PermanentAPIError, "unexpected status")

    def with_overrides(
        self,
        table: Mapping[int, Resolution] | None = None,
        rules: Sequence[BodyRule] = (),
    ) -> Classifier:
        """A copy with some status rows replaced and extra body rules checked first."""
        merged = dict(self.table)
        merged.update(table or {})
        return Classifier(table=merged, rules=(*rules, *self.rules))


DEFAULT_CLASSIFIER = Classifier()
