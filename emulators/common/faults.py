"""Fault injection shared by the emulators: seeded dice and malformed-body makers.

A connector is only as good as its handling of what real APIs do on bad days: throttle at
random, fail with 5xx, answer slowly, or send a body that is not what the API promises
(cut-off JSON, a proxy's HTML page, fields of the wrong type).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, field_validator
from starlette.responses import Response

__all__ = [
    "MALFORMED_KINDS",
    "FaultDice",
    "FaultSettings",
    "html_error_page",
    "malformed_response",
    "pace",
    "truncate_json",
    "wrong_types",
]

MALFORMED_KINDS: tuple[str, ...] = ("truncated_json", "wrong_types", "html_error")


class FaultSettings(BaseModel):
    """Base of every vendor's faults model: mutable, strict, and ``malformed_kinds`` checked.

    It declares no fields, so each vendor keeps its own fields in its own order (the
    ``/_emulator/faults`` JSON lists them in that order).
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    @field_validator("malformed_kinds", check_fields=False)
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(kinds) - set(MALFORMED_KINDS))
        if unknown or not kinds:
            raise ValueError(f"malformed_kinds must be a non-empty subset of {MALFORMED_KINDS}")
        return kinds


class FaultDice:
    """A seeded, thread-safe random source so a fault run can be replayed exactly."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def reseed(self, seed: int) -> None:
        """Restart the sequence (when the fault settings change)."""
        with self._lock:
            if seed != self._seed:
                self._seed = seed
                self._rng = random.Random(seed)

    def restart(self, seed: int) -> None:
        """Restart the sequence from `seed` even if it did not change."""
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    def roll(self, probability: float) -> bool:
        """True with `probability` (0 never rolls the dice, so runs without faults stay equal)."""
        if probability <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def choice(self, options: Sequence[Any]) -> Any:
        """One of `options`."""
        with self._lock:
            return options[self._rng.randrange(len(options))]

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        with self._lock:
            return self._rng.randint(low, high)


async def pace(dice: FaultDice, *, seed: int, latency_ms: float) -> None:
    """Before any fault decision: follow a changed seed, then wait the injected latency."""
    dice.reseed(seed)
    if latency_ms > 0:
        await asyncio.sleep(latency_ms / 1000)


def malformed_response(
    response: Response, dice: FaultDice, kinds: Sequence[str], json_type: str
) -> Response:
    """`response` replaced by one of the malformed `kinds` (a 200 that breaks its promise)."""
    kind = dice.choice(kinds)
    body = bytes(response.body)
    if kind == "html_error":
        return Response(html_error_page(502), 200, media_type="text/html")
    if kind == "truncated_json":
        return Response(truncate_json(body, dice), 200, media_type=json_type)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Response(truncate_json(body, dice), 200, media_type=json_type)
    return Response(orjson.dumps(wrong_types(document)), 200, media_type=json_type)


def truncate_json(body: bytes, dice: FaultDice) -> bytes:
    """The body cut somewhere in its middle, as a dropped connection leaves it."""
    if len(body) < 4:
        return b'{"res'
    return body[: dice.randint(1, max(1, len(body) * 2 // 3))]


def html_error_page(status: int = 502) -> bytes:
    """What a CDN or load balancer sends instead of the API's JSON."""
    return (
        "<!DOCTYPE html>\n<html><head><title>"
        f"{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway</h1>"
        "</center><hr><center>cloudflare</center></body></html>\n"
    ).encode()


def wrong_types(value: Any, depth: int = 0) -> Any:
    """The same document with scalars swapped for other JSON types (strings ↔ numbers...)."""
    if isinstance(value, dict):
        return {k: wrong_types(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth == 0 or not value:
            return {"0": value}
        return [wrong_types(v, depth + 1) for v in value]
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, str):
        return int(value) if value.isdigit() and len(value) < 16 else [value]
    if isinstance(value, int | float):
        return str(value) + "x"
    return value
