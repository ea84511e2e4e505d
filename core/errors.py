"""One exception tree for everything leadbridge raises.

    LeadbridgeError
    ├── ConfigError                 bad configuration: names the file and key
    ├── AuthError                   credentials refused or expired beyond refresh
    │   └── NeedsReauth             refresh grant rejected (invalid_grant): stop retrying
    ├── APIError                    a CRM answered with an error
    │   ├── RetryableAPIError
    │   │   ├── RateLimited         429/503-throttle/REQUEST_LIMIT_EXCEEDED, with retry_after
    │   │   ├── ServerError         5xx
    │   │   └── NetworkError        connect/read failures, timeouts
    │   └── PermanentAPIError
    │       ├── NotFound
    │       ├── ValidationRejected  the CRM refused the payload (4xx)
    │       └── MalformedResponse   the body is not what the API promises
    ├── MappingError                a record could not be mapped to the common schema
    ├── ScoringError                the scorer could not score (bad config, bad input)
    ├── SyncError                   the sync engine could not proceed
    └── StateError                  the state store is unusable

Errors carry the connector, HTTP status and request id, and their message is already
redacted: it is safe to print and to log. Vendor exceptions never escape `connectors/`;
they are translated at the boundary with `raise ... from exc`.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthError",
    "ConfigError",
    "LeadbridgeError",
    "MalformedResponse",
    "MappingError",
    "NeedsReauth",
    "NetworkError",
    "NotFound",
    "PermanentAPIError",
    "RateLimited",
    "RetryableAPIError",
    "ScoringError",
    "ServerError",
    "StateError",
    "SyncError",
    "ValidationRejected",
]


class LeadbridgeError(Exception):
    """Root of every error leadbridge raises on purpose."""


class ConfigError(LeadbridgeError):
    """A configuration problem, located: `file`, `key` and the reason."""

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.key = key
        where = ", ".join(part for part in (file, f"key '{key}'" if key else None) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class AuthError(LeadbridgeError):
    """Credentials were refused."""

    def __init__(self, message: str, *, connector: str | None = None) -> None:
        self.connector = connector
        super().__init__(f"{connector}: {message}" if connector else message)


class NeedsReauth(AuthError):
    """The refresh grant is dead; a human must log in again. Never retried."""


class APIError(LeadbridgeError):
    """A CRM API call failed. The message and body are redacted.

    `retry_after` (seconds) is the server's minimum wait when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        connector: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        body: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.retry_after = retry_after
        self.connector = connector
        self.status = status
        self.request_id = request_id
        self.body = body
        self.method = method
        self.url = url
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.connector}: " if self.connector else ""
        call = f"{self.method} {self.url} " if self.method and self.url else ""
        status = f"-> HTTP {self.status} " if self.status is not None else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{head}{call}{status}{self.message}{rid}".strip()


class RetryableAPIError(APIError):
    """Worth trying again later."""


class RateLimited(RetryableAPIError):
    """The CRM asked us to slow down; `retry_after` is the minimum wait in seconds."""


class ServerError(RetryableAPIError):
    """The CRM failed (5xx)."""


class NetworkError(RetryableAPIError):
    """The request never got a usable answer (connect, read, timeout)."""


class PermanentAPIError(APIError):
    """Retrying the same request will not help."""


class NotFound(PermanentAPIError):
    """The record or endpoint does not exist."""


class ValidationRejected(PermanentAPIError):
    """The CRM refused the payload."""


class MalformedResponse(PermanentAPIError):
    """The CRM answered something that is not what its API promises."""


class MappingError(LeadbridgeError):
    """A record could not be mapped to or from the common schema."""


class ScoringError(LeadbridgeError):
    """The scorer could not produce a score."""


class SyncError(LeadbridgeError):
    """The sync engine could not proceed."""


class StateError(LeadbridgeError):
    """The state store is missing, corrupt or from an incompatible version."""
