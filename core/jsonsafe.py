"""Parse CRM response bodies defensively.

orjson rejects NaN, Infinity and lone surrogates and caps nesting depth, which stdlib
`json` silently accepts; a size cap stops a runaway body before it is parsed. Whatever
goes wrong becomes a `MalformedResponse` with a one-line reason, never a raw traceback.
"""

from __future__ import annotations

from typing import Any

import orjson

from leadbridge.core.errors import MalformedResponse

__all__ = ["MAX_BODY_BYTES", "describe_body", "loads"]

MAX_BODY_BYTES = 32 * 1024 * 1024


def describe_body(body: bytes, limit: int = 80) -> str:
    """A short printable hint of what a body looks like (for error messages)."""
    head = body[:limit].decode("utf-8", errors="replace").replace("\n", " ").strip()
    if head.lower().startswith(("<!doctype", "<html")):
        return "an HTML page"
    return repr(head) + ("…" if len(body) > limit else "")


def loads(body: bytes, *, connector: str | None = None, where: str | None = None) -> Any:
    """Decode a JSON body or raise `MalformedResponse` saying what it looked like."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedResponse(
            f"response body of {len(body)} bytes exceeds the {MAX_BODY_BYTES} byte cap",
            connector=connector,
            url=where,
        )
    if not body.strip():
        raise MalformedResponse(
            "empty response body where JSON was expected", connector=connector, url=where
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponse(
            f"invalid JSON ({exc.msg} at byte {exc.pos}); body starts with {describe_body(body)}",
            connector=connector,
            url=where,
        ) from exc
