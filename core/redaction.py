"""Secret redaction in one place: every log line, error message and stored payload.

Two layers: exact values registered at runtime (tokens, client secrets, API keys, the
moment leadbridge learns them) and patterns for credentials that look like credentials
(``Bearer …``, ``pat-na1-…``, ``access_token=…``). httpx logs full URLs and httpcore logs
headers, so the logging filter is installed on those loggers too.

    >>> register_secret("s3cr3t-value")
    >>> redact("token=s3cr3t-value")
    'token=[REDACTED]'
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = ["MASK", "RedactingFilter", "install_log_redaction", "redact", "register_secret"]

MASK = "[REDACTED]"
_MIN_SECRET_LEN = 6

_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bpat-[a-z]{2,3}\d?-[A-Za-z0-9-]{6,}"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|api[_-]?key|api[_-]?token|password"
        r"|assertion|code_verifier|hapikey|sessionid|signature)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"'&,;}]{4,}"
    ),
    re.compile(r"(?i)((?:authorization|api-token|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\"'\n,}]{4,}"),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None


def register_secret(*values: str | None) -> None:
    """Remember exact secret values so they are masked wherever they appear later."""
    global _secret_re
    fresh = {v for v in values if v and len(v) >= _MIN_SECRET_LEN}
    if not fresh:
        return
    with _lock:
        if fresh <= _secrets:
            return
        _secrets.update(fresh)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """Return `text` with every known secret and credential-looking value masked."""
    if not text:
        return text
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for rx in _PATTERNS:
        text = rx.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (with its args applied) through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            cleaned = f"{cleaned} ({redact(str(record.exc_info[1]))})"
            record.exc_info = None
            record.exc_text = None
        record.msg = cleaned
        record.args = None
        return True


_installed = False


def install_log_redaction(extra_loggers: Iterable[str] = ()) -> None:
    """Attach the filter to our loggers and to the HTTP libraries that log URLs/headers."""
    global _installed
    names = [
        "leadbridge",
        "httpx",
        "httpcore",
        "urllib3",
        "simple_salesforce",
        "authlib",
        "uvicorn",
    ]
    names.extend(extra_loggers)
    flt = RedactingFilter()
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    _installed = True
