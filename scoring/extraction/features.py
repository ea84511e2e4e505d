"""Features: what the model sees around a candidate, as hashed strings.

The role of an amount is written in the words around it ("apport", "mensualité",
"Kaufpreis", "deposit", "al mese"), in its size relative to the other amounts (the
price is usually the largest) and in its shape (a currency sign, "k", a percent). The
features are those words by position and as a bag, cut to five-letter prefixes as
well so that inflections and typos ("apports", "dapport", "anticipo"/"anticip")
still match, plus size and shape indicators. Strings are hashed with CRC-32 into a
fixed space, so the model file is a weight table and needs no vocabulary, and the hash
is stable across processes (Python's own `hash` is salted per run).

    >>> ctx = Context.of("apport de 50k")
    >>> feats = amount_features(ctx, [(10, 13, 50000.0)], 0, "amount", "mult")
    >>> "L1=de" in feats and "Lb=apport" in feats
    True
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DIM", "Context", "amount_features", "hash_features", "mention_features"]

DIM = 1 << 18
"""Size of the hashed feature space (262 144 slots; collisions are rare at this size)."""

_TOKEN = re.compile(r"[a-z]+|\d+|[.;!?\n:]")
_CLAUSE_BREAK = frozenset(".;!?\n")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    lowered = char.lower()
    if len(lowered) != 1:
        return char
    decomposed = unicodedata.normalize("NFD", lowered)
    base = decomposed[0]
    if base == "ß":
        return "s"
    return base if base.isascii() else lowered


def fold(text: str) -> str:
    """Lower-case and strip accents *without changing the length*, so spans stay valid."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


@dataclass(frozen=True, slots=True)
class Context:
    """A message tokenised once: folded tokens with their character spans."""

    tokens: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Context:
        """Tokenise `text` (folded) for feature extraction."""
        matches = list(_TOKEN.finditer(fold(text)))
        return cls(
            tokens=tuple(m.group() for m in matches),
            starts=tuple(m.start() for m in matches),
            ends=tuple(m.end() for m in matches),
        )

    def window(self, start: int, end: int, left: int, right: int) -> tuple[list[str], list[str]]:
        """Word tokens before `start` (nearest first) and after `end`, within the clause."""
        before: list[str] = []
        after: list[str] = []
        i = _bisect(self.ends, start) - 1
        while i >= 0 and len(before) < left:
            tok = self.tokens[i]
            if tok in _CLAUSE_BREAK:
                if tok != ":":
                    break
            elif not tok.isdigit():
                before.append(tok)
            i -= 1
        j = _bisect(self.starts, end)
        while j < len(self.tokens) and len(after) < right:
            tok = self.tokens[j]
            if tok in _CLAUSE_BREAK:
                if tok != ":":
                    break
            elif not tok.isdigit():
                after.append(tok)
            j += 1
        return before, after


def _bisect(values: Sequence[int], x: int) -> int:
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _context_features(out: list[str], before: list[str], after: list[str]) -> None:
    for pos, tok in enumerate(before):
        if pos < 2:
            out.append(f"L{pos + 1}={tok}")
        out.append(f"Lb={tok}")
        out.append(f"Lp={tok[:5]}")
    for pos, tok in enumerate(after):
        if pos < 2:
            out.append(f"R{pos + 1}={tok}")
        out.append(f"Rb={tok}")
        out.append(f"Rp={tok[:5]}")
    if len(before) >= 2:
        out.append(f"L21={before[1]}_{before[0]}")
    if len(after) >= 2:
        out.append(f"R12={after[0]}_{after[1]}")
    if not before:
        out.append("L=^")
    if not after:
        out.append("R=$")


def amount_features(
    ctx: Context,
    amounts: Sequence[tuple[int, int, float]],
    index: int,
    kind: str,
    shape: str,
) -> list[str]:
    """Features of amount `index` among the message's `amounts` (start, end, value)."""
    start, end, value = amounts[index]
    out = ["bias", f"kind={kind}", f"shape={shape}"]
    before, after = ctx.window(start, end, 6, 4)
    _context_features(out, before, after)
    if kind == "percent":
        out.append(f"pct={min(int(value // 10), 10)}")
        return out
    out.append(f"mag={int(2 * math.log10(max(value, 1.0)))}")
    money = [v for s, e, v in amounts if v >= 1000]
    top = max(money, default=value)
    out.append(f"n={min(len(money), 4)}")
    if value >= top:
        out.append("is_max")
    if value <= min(money, default=value):
        out.append("is_min")
    ratio = value / top if top else 1.0
    out.append(f"rel={0 if ratio < 0.15 else 1 if ratio < 0.4 else 2 if ratio < 0.75 else 3}")
    order = sum(1 for s, _, v in amounts if s < start and v >= 1000)
    out.append(f"order={min(order, 3)}")
    return out


def mention_features(
    ctx: Context,
    start: int,
    end: int,
    field: str,
    label: str,
    shape: str,
    *,
    same_field: int,
    other_labels: int,
    past: bool = False,
) -> list[str]:
    """Features of one lexicon or month hit: field, term, context, competing hits."""
    out = ["bias", f"f={field}", f"fl={field}:{label}", f"t={shape}", f"f={field}|sf={same_field}"]
    if other_labels:
        out.append(f"f={field}|competing")
    if past:
        out.append("past")
    before, after = ctx.window(start, end, 4, 3)
    for tok in before:
        out.append(f"{field}|Lb={tok}")
    for tok in after[:2]:
        out.append(f"{field}|Rb={tok}")
    _context_features(out, before[:3], after[:3])
    return out


def hash_features(features: Sequence[str]) -> list[int]:
    """Slots of `features` in the hashed space (stable across runs and platforms)."""
    return [zlib.crc32(f.encode()) & (DIM - 1) for f in features]
