r"""Inputs: turn whatever arrives (str, bytes, huge, binary, other scripts) into analysable text.

Webhooks and CSV imports deliver anything: empty bodies, a PDF's bytes, a 1 MB
forwarded thread, a message in Cyrillic. Extraction must never raise on content, so
this module decides what part of the input is analysed and says why in a warning:
binary content is refused, text is cut at `MAX_CHARS`, and a notice is given when much
of the text is in a script other than Latin (only fr/it/de/en are understood).
Offsets are kept: the analysed text is a prefix of the decoded input, so spans point
into what the caller sent.

    >>> prepare(b"\x00\x01\x02binary").warnings
    ('binary input ignored',)
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["MAX_CHARS", "Prepared", "prepare"]

MAX_CHARS = 20_000
"""Longest text analysed; lead messages are far shorter, longer inputs are cut."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """The text to analyse and the warnings collected while preparing it."""

    text: str
    warnings: tuple[str, ...]


def _looks_binary(sample: str) -> bool:
    if not sample:
        return False
    control = sum(1 for c in sample if (ord(c) < 32 and c not in "\n\r\t") or c == "\ufffd")
    return control / len(sample) > 0.1


def _foreign_scripts(sample: str) -> list[str]:
    counts: dict[str, int] = {}
    letters = 0
    for char in sample:
        if not char.isalpha():
            continue
        letters += 1
        if ord(char) < 0x250:
            continue
        name = unicodedata.name(char, "")
        script = name.split(" ", 1)[0] if name else "UNKNOWN"
        if script == "LATIN":
            continue
        counts[script] = counts.get(script, 0) + 1
    if not letters:
        return []
    return sorted(s for s, n in counts.items() if n / letters > 0.05)


def prepare(raw: str | bytes) -> Prepared:
    """Decode, bound and vet `raw`; never raises on content."""
    warnings: list[str] = []
    if isinstance(raw, bytes):
        if b"\x00" in raw[:4096]:
            return Prepared("", ("binary input ignored",))
        text = raw.decode("utf-8", errors="replace")
    else:
        text = raw
    if _looks_binary(text[:4096]):
        return Prepared("", ("binary input ignored",))
    if any("\ud800" <= c <= "\udfff" for c in text[:MAX_CHARS]):
        text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
        warnings.append("invalid characters replaced")
    if not text.strip():
        return Prepared("", ("empty message",))
    if len(text) > MAX_CHARS:
        warnings.append(
            f"message truncated: analysed the first {MAX_CHARS} of {len(text)} characters"
        )
        text = text[:MAX_CHARS]
    foreign = _foreign_scripts(text[:MAX_CHARS])
    if foreign:
        scripts = ", ".join(s.title() for s in foreign)
        warnings.append(f"text in {scripts} script not analysed; only fr/it/de/en are supported")
    return Prepared(text, tuple(warnings))
