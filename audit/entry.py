"""One audit entry as bytes: the canonical body that is hashed, signed over and verified.

The chain is built over *stored bytes*, never over a re-serialisation: the writer encodes
a body once (orjson, sorted keys, compact, UTF-8) and stores exactly those bytes; the
verifier hashes what it reads. So there is no canonicalisation ambiguity to exploit (no
float formatting, key order or whitespace question can make two readers disagree), and a
single flipped byte anywhere in a body changes its hash.

Each body names its own sequence number and its predecessor's hash, so a row is
self-describing: ``hash = SHA-256(prev_hash ‖ body)``. Seq 1 links to `GENESIS` (32 zero
bytes). Times are UTC, fixed-width ISO 8601 with microseconds and a ``Z``, so they order
correctly as strings and the verifier compares them without parsing.

    >>> body = encode_body(seq=1, prev=GENESIS, at="2026-01-01T00:00:00.000000Z",
    ...                    fields={"kind": "crm_write"})
    >>> decode_body(body).seq
    1
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "BODY_VERSION",
    "GENESIS",
    "BodyFields",
    "chain_hash",
    "decode_body",
    "encode_body",
    "format_time",
]

BODY_VERSION = 1
GENESIS = bytes(32)
"""The hash seq 1 links to: a fixed value, so an empty log has a well-defined head."""

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z


def format_time(value: datetime) -> str:
    """Fixed-width UTC ISO 8601 with microseconds: sorts as a string, parses everywhere."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_body(*, seq: int, prev: bytes, at: str, fields: Mapping[str, Any]) -> bytes:
    """The canonical bytes of one entry; `fields` (JSON values, validated by the caller)."""
    document = dict(fields)
    document.update({"v": BODY_VERSION, "seq": seq, "prev": prev.hex(), "at": at})
    return orjson.dumps(document, option=_OPTIONS)


def chain_hash(prev: bytes, body: bytes) -> bytes:
    """``SHA-256(prev ‖ body)``: the link that makes every earlier entry part of this one."""
    return hashlib.sha256(prev + body).digest()


@dataclass(frozen=True, slots=True)
class BodyFields:
    """What the verifier needs from a body, parsed once."""

    seq: int
    prev: bytes
    at: str
    document: dict[str, Any]


def decode_body(body: bytes) -> BodyFields | None:
    """Parse a stored body; None when it is not a well-formed entry (the verifier's signal)."""
    try:
        document = orjson.loads(body)
        seq, prev, at = document["seq"], document["prev"], document["at"]
        if type(seq) is not int or type(prev) is not str or type(at) is not str:
            return None
        prev_bytes = bytes.fromhex(prev)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if len(prev_bytes) != 32:
        return None
    return BodyFields(seq, prev_bytes, at, document)
