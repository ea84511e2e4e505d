"""Months: find the timing a lead gives and resolve it to ``YYYY-MM`` against the message date.

"d'ici juin", "entro marzo", "bis spätestens Mai" name a month: it resolves to the next
such month on or after the message date (or to the year written next to it). "within
6 months", "dans six mois", "in 3 Monaten" count from the message date; "by the end of
the year", "entro fine anno" mean December. Every hit is a candidate: whether it is the
lead's *target* (and not "en CDI depuis mars 2019") is the mention model's call.

    >>> from datetime import datetime, UTC
    >>> [c.label for c in find_months("signature d'ici juin", datetime(2026, 3, 2, tzinfo=UTC))]
    ['2026-06']
"""

from __future__ import annotations

import re
from datetime import datetime

from leadbridge.scoring.extraction.candidates import Candidate

__all__ = ["find_months", "shift_month"]

_MONTH_NAMES: tuple[str, ...] = (
    "janvier gennaio januar jänner january jan",
    "février fevrier febbraio februar february feb febr",
    "mars marzo märz maerz march mar",
    "avril aprile april apr",
    "mai maggio may",
    "juin giugno juni june jun",
    "juillet luglio juli july jul",
    "août aout agosto august aug",
    "septembre settembre september sept sep",
    "octobre ottobre oktober october oct okt",
    "novembre november nov",
    "décembre decembre dicembre dezember december dec dez",
)
_MONTHS: dict[str, int] = {
    name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names.split()
}
_AMBIGUOUS = frozenset({"may", "march", "mar", "jan", "jun", "jul", "aug", "sep", "dec", "nov"})
_CUES = (
    r"d'ici|d’ici|avant|pour|en|vers|dès|fin|début|entro|per|a|ad|da|tra|fra|inizio|fine|"
    r"bis|spätestens|ab|im|vor|ende|anfang|by|in|before|until|till|around|from|end of|"
    r"start of|early|late|mid|within"
)
_MONTH_RE = re.compile(
    r"(?:(?P<cue>\b(?:" + _CUES + r"))\s+(?:(?:le|la|mois|de|d'|di|del|des|of|"
    r"spätestens|zum|mitte|the|(?:fin|début|inizio|fine)(?:\s+(?:de|di))?)\s+)*)?"
    r"\b(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?\b"
    r"(?:\s+(?P<year>20\d\d|'\d\d))?",
    re.IGNORECASE,
)
_SMALL_NUMBERS: dict[str, int] = {
    w: i
    for names in (
        "un deux trois quatre cinq six sept huit neuf dix onze douze",
        "uno due tre quattro cinque sei sette otto nove dieci undici dodici",
        "ein zwei drei vier fünf sechs sieben acht neun zehn elf zwölf",
        "one two three four five six seven eight nine ten eleven twelve",
    )
    for i, w in enumerate(names.split(), start=1)
}
_SMALL_NUMBERS.update({"une": 1, "un'": 1, "una": 1, "eine": 1, "einem": 1, "einen": 1, "a": 1})
_NUM = r"(?P<n>\d{1,2}|" + "|".join(sorted(_SMALL_NUMBERS, key=len, reverse=True)) + r")"
_RELATIVE_RE = re.compile(
    r"\b(?P<cue>dans|d'ici|d’ici|sous|en|entro|tra|fra|in|within|innerhalb(?:\s+von)?|binnen|"
    r"next|the\s+next|les|prochains)\s+(?:(?:les|i|prossimi|den|nächsten|the|next|"
    r"coming)\s+)*"
    + _NUM
    + r"\s+(?P<unit>mois|mesi|mese|monaten|monate|monat|months?|ans?|années?|anni|anno|jahren?|"
    r"jahr|years?)\b",
    re.IGNORECASE,
)
_YEAR_END_RE = re.compile(
    r"\b(?:d'ici|avant|pour|entro|bis|by|before|until)?\s*(?:la\s+|the\s+)?"
    r"(?:fin\s+(?:de\s+)?l'ann[ée]e|fin\s+d'ann[ée]e|fine\s+(?:dell')?anno|"
    r"fine\s+d'anno|ende\s+(?:des\s+|dieses\s+)?jahres|jahresende|end\s+of\s+(?:the\s+|this\s+)?"
    r"year|year[-\s]end)\b",
    re.IGNORECASE,
)


def shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    """(year, month) moved by `months` calendar months."""
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def find_months(text: str, sent_at: datetime) -> list[Candidate]:
    """Month, relative-duration and year-end expressions, resolved to ``YYYY-MM``."""
    out: list[Candidate] = []
    for m in _MONTH_RE.finditer(text):
        word = m.group("month").lower()
        if word in _AMBIGUOUS and not (m.group("cue") or m.group("year")):
            continue
        if word in ("mar", "jan") and not m.group("month")[0].isupper():
            continue  # Italian "mar" (sea) and similar short words need a capital
        month = _MONTHS[word]
        year_text = m.group("year")
        if year_text:
            year = 2000 + int(year_text[-2:])
            certainty = 1.0
        else:
            year = sent_at.year if month >= sent_at.month else sent_at.year + 1
            certainty = 0.95 if m.group("cue") else 0.85
        start = m.start("cue") if m.group("cue") else m.start("month")
        out.append(_month(text, start, m.end(), year, month, certainty, "month"))
    for m in _RELATIVE_RE.finditer(text):
        n = _SMALL_NUMBERS.get(m.group("n").lower()) or int(m.group("n"))
        unit = m.group("unit").lower()
        months = n * 12 if unit.startswith(("an", "ann", "jahr", "year")) else n
        if months > 60:
            continue
        year, month = shift_month(sent_at.year, sent_at.month, months)
        out.append(_month(text, m.start(), m.end(), year, month, 0.95, "relative"))
    for m in _YEAR_END_RE.finditer(text):
        start = m.start() + len(m.group()) - len(m.group().lstrip())
        out.append(_month(text, start, m.end(), sent_at.year, 12, 0.95, "year_end"))
    out.sort(key=lambda c: c.start)
    return out


def _month(
    text: str, start: int, end: int, year: int, month: int, certainty: float, shape: str
) -> Candidate:
    return Candidate(
        kind="month",
        start=start,
        end=end,
        text=text[start:end],
        field="target_month",
        label=f"{year:04d}-{month:02d}",
        certainty=certainty,
        shape=shape,
    )
