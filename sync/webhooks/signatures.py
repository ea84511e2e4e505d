"""Proof that a webhook comes from its sender, checked before anything else is read.

- **HubSpot v3**: ``base64(HMAC-SHA256(client secret, method + URI + raw body +
  timestamp))`` in ``X-HubSpot-Signature-v3``, the timestamp (ms) in
  ``X-HubSpot-Request-Timestamp``; older than 5 minutes (or as far in the future) is
  refused, and the URI is the full URL, URL-decoded. Legacy v1/v2 signatures alone are
  refused: they sign no timestamp, so a captured request replays forever.
- **leadbridge HMAC** (BOMA and relays): ``sha256=<hex HMAC-SHA256(secret, timestamp +
  "." + raw body)>`` in ``X-Leadbridge-Signature``, seconds in ``X-Leadbridge-Timestamp``.
- **Shared token** (ActiveCampaign, whose webhooks are unsigned): an unguessable token
  in the URL or a header.

Every comparison is `hmac.compare_digest`; the window stops late replays and the event
queue refuses ids it has seen (replays inside the window).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import unquote

from leadbridge.core.errors import LeadbridgeError

__all__ = [
    "HUBSPOT_SIGNATURE",
    "HUBSPOT_TIMESTAMP",
    "LEADBRIDGE_SIGNATURE",
    "LEADBRIDGE_TIMESTAMP",
    "WebhookRejected",
    "hubspot_v3_signature",
    "leadbridge_signature",
    "verify_hubspot_v3",
    "verify_leadbridge",
    "verify_token",
]

HUBSPOT_SIGNATURE = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP = "x-hubspot-request-timestamp"
HUBSPOT_LEGACY = ("x-hubspot-signature", "x-hubspot-signature-version")
LEADBRIDGE_SIGNATURE = "x-leadbridge-signature"
LEADBRIDGE_TIMESTAMP = "x-leadbridge-timestamp"


class WebhookRejected(LeadbridgeError):
    """A webhook request that is refused; `status` is the HTTP answer, `reason` a label."""

    def __init__(self, message: str, *, status: int = 401, reason: str = "signature") -> None:
        self.status = status
        self.reason = reason
        super().__init__(message)


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot sends for this request (what a sender computes)."""
    message = method.upper().encode() + unquote(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def leadbridge_signature(secret: str, body: bytes, timestamp: str) -> str:
    """``sha256=<hex>`` over ``timestamp.body`` (what a BOMA relay sends)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _fresh(raw: str | None, *, now_s: float, max_age_s: float, scale: float, header: str) -> str:
    if raw is None or not raw.strip():
        raise WebhookRejected(f"missing {header} header", reason="missing_header")
    try:
        at = int(raw.strip()) / scale
    except ValueError:
        raise WebhookRejected(f"{header} is not a number", reason="bad_timestamp") from None
    if abs(now_s - at) > max_age_s:
        raise WebhookRejected(
            f"{header} is {abs(now_s - at):.0f} s away from now (limit {max_age_s:.0f} s)",
            reason="stale",
        )
    return raw.strip()


def verify_hubspot_v3(
    headers: Mapping[str, str],
    *,
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    now_s: float,
    max_age_s: float = 300.0,
) -> None:
    """Raise `WebhookRejected` unless the request carries a valid, fresh v3 signature."""
    signature = headers.get(HUBSPOT_SIGNATURE)
    if not signature:
        legacy = any(headers.get(h) for h in HUBSPOT_LEGACY)
        raise WebhookRejected(
            "only v1/v2 signatures present; v3 is required"
            if legacy
            else f"missing {HUBSPOT_SIGNATURE} header",
            reason="legacy_signature" if legacy else "missing_header",
        )
    timestamp = _fresh(
        headers.get(HUBSPOT_TIMESTAMP),
        now_s=now_s,
        max_age_s=max_age_s,
        scale=1000.0,
        header=HUBSPOT_TIMESTAMP,
    )
    expected = hubspot_v3_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRejected("signature does not match", reason="signature")


def verify_leadbridge(
    headers: Mapping[str, str], *, secret: str, body: bytes, now_s: float, max_age_s: float = 300.0
) -> None:
    """Raise `WebhookRejected` unless ``X-Leadbridge-Signature`` is valid and fresh."""
    signature = headers.get(LEADBRIDGE_SIGNATURE)
    if not signature:
        raise WebhookRejected(f"missing {LEADBRIDGE_SIGNATURE} header", reason="missing_header")
    timestamp = _fresh(
        headers.get(LEADBRIDGE_TIMESTAMP),
        now_s=now_s,
        max_age_s=max_age_s,
        scale=1.0,
        header=LEADBRIDGE_TIMESTAMP,
    )
    expected = leadbridge_signature(secret, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRejected("signature does not match", reason="signature")


def verify_token(presented: str | None, *, secret: str) -> None:
    """Raise `WebhookRejected` unless the shared token matches (constant time)."""
    if not presented:
        raise WebhookRejected("missing webhook token", reason="missing_header")
    if not hmac.compare_digest(secret.encode(), presented.encode()):
        raise WebhookRejected("webhook token does not match", reason="signature")
