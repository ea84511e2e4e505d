"""Amounts: find money and percentages in every local format, and normalise them.

Leads write 250 000, 250.000, 250'000, 250,000, "1,2 Mio.", "1.05m", "200k", "340k€",
"CHF 850'000.-" or spell the number out ("deux cent cinquante mille", "duecentomila",
"two hundred and ten thousand", "zwei Millionen"). Digits are parsed here by one regex
and a separator rule (the rightmost separator followed by one or two digits is the
decimal mark, anything else groups thousands). Spelled-out numbers are parsed by
`text2num` (allo-media, French/Italian/German/English among others), which returns
token spans so the source span survives. Small bare numbers (ages, rooms, years,
durations, surfaces) are not money and are dropped here, so the model only sees
plausible amounts.

    >>> [(c.value, c.currency) for c in find_amounts("prêt de 1,2 Mio. CHF", "de")]
    [(1200000.0, 'CHF')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from text_to_num import find_numbers  # type: ignore[import-untyped]

from leadbridge.scoring.extraction.candidates import Candidate

__all__ = ["CURRENCIES", "currency_code", "find_amounts", "parse_number"]

CURRENCIES: tuple[str, ...] = ("EUR", "CHF", "GBP", "USD")

_CURRENCY_WORDS: dict[str, str] = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "k€": "EUR",
    "chf": "CHF",
    "fr.": "CHF",
    "sfr.": "CHF",
    "sfr": "CHF",
    "franc": "CHF",
    "francs": "CHF",
    "franchi": "CHF",
    "franken": "CHF",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
}

_MULTIPLIERS: dict[str, float] = {
    "k": 1e3,
    "k€": 1e3,
    "mille": 1e3,
    "mila": 1e3,
    "tausend": 1e3,
    "tsd": 1e3,
    "tsd.": 1e3,
    "thousand": 1e3,
    "grand": 1e3,
    "m": 1e6,
    "mio": 1e6,
    "mio.": 1e6,
    "mln": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "millionen": 1e6,
    "milione": 1e6,
    "milioni": 1e6,
}

_CUR_BEFORE = r"(?:(?P<cur1>US\$|€|£|\$|CHF|EUR|GBP|USD|SFr\.?|Fr\.)\s?)?"
_NUM = (
    r"(?P<num>\d{1,3}(?:(?:[ \u00a0\u202f]|'|’|\.|,)\d{3})+(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?)"
)
_MULT = (
    r"(?:\s?(?P<mult>k€|k|mille|mila|tausend|tsd\.?|thousand|grand|mio\.?|mln|mn|"
    r"millions?|millionen|milion[ei]|m)(?![^\W\d_]|[²2³]))?"
)
_CUR_AFTER = (
    r"(?:\s?(?P<cur2>€|euros?|eur|chf|fr\.|francs?|franchi|franken|£|gbp|pounds?|quid|"
    r"\$|usd|dollars?)(?![^\W\d_]))?"
)
_SWISS_DASH = r"(?P<dash>[.,][-–])?"
_WORD_CUR_AFTER = re.compile(
    r"\s?(?:d'|de\s|di\s)?(?P<cur2>€|euros?|eur|chf|francs?|franchi|franken|£|gbp|pounds?|"
    r"\$|usd|dollars?)(?![^\W\d_])",
    re.IGNORECASE,
)
_AMOUNT_RE = re.compile(
    r"(?<![\w.,])(?<!\d['’])" + _CUR_BEFORE + _NUM + _MULT + _CUR_AFTER + _SWISS_DASH,
    re.IGNORECASE,
)
_PERCENT_AFTER = re.compile(
    r"\s?(?:%|pour\s?cents?|per\s?cent|percent|per\s?cento|prozent)", re.IGNORECASE
)
_UNIT_AFTER = re.compile(
    r"\s?(?:m2|m²|mq|qm|sqm|sq\.?\s?ft|ft²|km|ans?\b|anni|jahre|years?|mois|mesi|monat|months?|"
    r"pi[eè]ces|zimmer|locali|rooms?|bedrooms?|chambres?|camere|kinder|enfants|figli|kids)",
    re.IGNORECASE,
)
_DIGIT_BEFORE = re.compile(r"\d[ \u00a0/-]?$")
_WORD_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W\d_]+)*|[^\w\s]")
_WORD_TRIGGER = re.compile(
    r"mille|mila|tausend|thousand|million|milion|hundred|cent|hundert|pour\s?cent|prozent",
    re.IGNORECASE,
)
_WORD_PERCENT = re.compile(
    r"\s?(?:pour\s?cents?|per\s?cent|percent|per\s?cento|prozent)\b", re.IGNORECASE
)
_TEXT2NUM_LANGS = {"fr": "fr", "it": "it", "de": "de", "en": "en"}


def currency_code(token: str | None) -> str | None:
    """ISO code for a currency symbol or word (``"Fr."`` -> ``"CHF"``), else None."""
    if token is None:
        return None
    return _CURRENCY_WORDS.get(token.strip().lower())


def parse_number(raw: str, *, has_multiplier: bool = False) -> float | None:
    """Parse digits in any local format: ``250'000``, ``250.000``, ``1,2``, ``1,050.50``.

    The rightmost ``.``/``,`` is a decimal mark when one or two digits follow it, or when
    a multiplier follows the number ("1.050 Mio" is 1.05 million); every other separator
    groups thousands.
    """
    cleaned = re.sub(r"[ \u00a0\u202f'’]", "", raw)
    last = max(cleaned.rfind("."), cleaned.rfind(","))
    if last == -1:
        return float(cleaned) if cleaned.isdigit() else None
    head, tail = cleaned[:last], cleaned[last + 1 :]
    head_digits = re.sub(r"[.,]", "", head)
    if not head_digits.isdigit() or not tail.isdigit():
        return None
    single_separator = head == head_digits
    if len(tail) in (1, 2) or (has_multiplier and single_separator):
        return float(f"{head_digits}.{tail}")
    return float(head_digits + tail)


@dataclass(frozen=True, slots=True)
class _Tok:
    """A token for `text_to_num.find_numbers`, with its character span."""

    word: str
    start: int
    end: int

    def text(self) -> str:
        return self.word

    def nt_separated(self, previous: _Tok) -> bool:
        return False

    def not_a_number_part(self) -> bool:
        return False


def find_amounts(text: str, lang: str | None) -> list[Candidate]:
    """Every plausible money amount and percentage in `text`, left to right."""
    found = _digit_amounts(text)
    if lang in _TEXT2NUM_LANGS and _WORD_TRIGGER.search(text):
        taken = [(c.start, c.end) for c in found]
        for cand in _word_amounts(text, _TEXT2NUM_LANGS[lang]):
            if not any(cand.start < e and s < cand.end for s, e in taken):
                found.append(cand)
        found.sort(key=lambda c: c.start)
    return found


def _digit_amounts(text: str) -> list[Candidate]:
    out: list[Candidate] = []
    for m in _AMOUNT_RE.finditer(text):
        raw = m.group("num")
        mult_word = (m.group("mult") or "").lower()
        cur_word = m.group("cur1") or m.group("cur2") or ("€" if mult_word == "k€" else None)
        end = m.end()
        trailing = _WORD_CUR_AFTER.match(text, end) if cur_word is None else None
        if trailing is not None and m.group("dash"):
            cur_word, end = trailing.group("cur2"), trailing.end()
        tail = text[m.end() : m.end() + 16]
        if re.match(r"\s?\d", tail) or re.match(r"[.,]\d", tail):
            continue  # phone numbers, dates like 12.03.2026, IBAN chunks
        if raw.startswith("0") and len(raw) > 1 and not raw.startswith(("0.", "0,")):
            continue
        number = parse_number(raw, has_multiplier=bool(mult_word))
        if number is None:
            continue
        pct = _PERCENT_AFTER.match(text, m.end("num")) if not mult_word else None
        if pct is not None and not cur_word:
            out.append(_percent(text, m.start("num"), pct.end(), number))
            continue
        if mult_word == "m" and (number >= 50 or not (cur_word or "." in raw or "," in raw)):
            mult_word = ""
            end = m.end("num")
        value = number * _MULTIPLIERS.get(mult_word, 1.0)
        grouped = bool(re.search(r"\d[ \u00a0\u202f'’.,]\d{3}", raw))
        if not (cur_word or mult_word or grouped or m.group("dash")):
            if value < 1000 or (1900 <= value <= 2100 and raw.isdigit()):
                continue
            if _UNIT_AFTER.match(text, end) or _DIGIT_BEFORE.search(text, 0, m.start()):
                continue  # units, or the tail of a phone number ("07700 900123")
        elif value < 100 or _UNIT_AFTER.match(text, end):
            continue
        start = m.start() if m.group("cur1") else m.start("num")
        if not (mult_word or cur_word or m.group("dash")):
            end = m.end("num")
        certainty = 1.0 if cur_word else (0.97 if (grouped or mult_word) else 0.9)
        shape = "cur" if cur_word else ("mult" if mult_word else ("grp" if grouped else "bare"))
        if m.group("dash") and not cur_word:
            shape = "dash"
        out.append(
            Candidate(
                kind="amount",
                start=start,
                end=end,
                text=text[start:end],
                value=value,
                currency=currency_code(cur_word),
                certainty=certainty,
                shape=shape,
            )
        )
    return out


def _percent(text: str, start: int, end: int, number: float) -> Candidate:
    return Candidate(
        kind="percent",
        start=start,
        end=end,
        text=text[start:end],
        value=number,
        certainty=0.97,
        shape="pct",
    )


def _word_amounts(text: str, lang: str) -> list[Candidate]:
    tokens = [_Tok(m.group(), m.start(), m.end()) for m in _WORD_TOKEN.finditer(text)]
    out: list[Candidate] = []
    for occ in find_numbers(tokens, lang, 0):
        first, last = tokens[occ.start], tokens[occ.end - 1]
        if any(tok.word[0].isdigit() for tok in tokens[occ.start : occ.end]):
            continue  # digits are the regex's job; text2num only adds spelled-out numbers
        value = float(occ.value)
        pct = _WORD_PERCENT.match(text, last.end)
        if pct is not None and value <= 100:
            out.append(_percent(text, first.start, pct.end(), value))
            continue
        if value < 1000:
            continue
        end = last.end
        bare_multiplier = occ.end - occ.start == 1 and first.word.lower() in _MULTIPLIERS
        cur = _WORD_CUR_AFTER.match(text, end)
        cur_word = cur.group("cur2") if cur else None
        if cur is not None and cur_word:
            end = cur.end()
        elif bare_multiplier:
            continue  # "grazie mille", "a thousand thanks"
        out.append(
            Candidate(
                kind="amount",
                start=first.start,
                end=end,
                text=text[first.start : end],
                value=value,
                currency=currency_code(cur_word),
                certainty=0.95,
                shape="words",
            )
        )
    return out
