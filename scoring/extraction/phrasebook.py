"""Phrasebook: the templates and surface forms the synthetic corpus is built from.

Seed 001's method: without GDPR-compliant chat history, generate thousands of typical
sentences and label them. The *material* lives in ``data/phrasebook.toml`` (data, not
code: per language, how people ask for a loan, give a price, an "apport", a salary, a
monthly payment, their job, the property, the purpose and the timing, plus
distractors such as a partner's job or a contract end date); `corpus.py` combines it
at random. Slots in templates:

    {A}       an amount whose role is the template's key ("down_payment", ...)
    {P}       a percentage whose role is the key after "pct:"
    {J} / {J-} the lead's / someone else's job status
    {T} / {T-} the project's / another property type
    {U} / {N} the purpose as a verb / as a noun
    {M} / {M-} / {M+} the target month / a past month / a future non-target month
    {E}       an energy class

Surface forms ("job:permanent", "prop:house", ...) are chosen so that the lexicon
recognises them; the model learns from the *context* which hits count.

    >>> "apport de {A}" in PHRASEBOOK["fr"]["down_payment"]
    True
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from leadbridge.core.errors import ConfigError

__all__ = ["PHRASEBOOK", "PHRASEBOOK_PATH", "Phrases", "load_phrasebook"]

Phrases = dict[str, tuple[str, ...]]

PHRASEBOOK_PATH = Path(__file__).resolve().parent / "data" / "phrasebook.toml"

_REQUIRED = (
    "greet",
    "close",
    "noise",
    "requested_amount",
    "property_value",
    "down_payment",
    "salary",
    "monthly_payment",
    "other",
    "job_keep",
    "job_other",
    "prop_keep",
    "prop_other",
    "purpose_keep",
    "month_keep",
    "month_other",
    "month_future_other",
    "month_forms",
    "relative_forms",
    "months",
    "energy",
    "pct_forms",
)


def load_phrasebook(path: Path = PHRASEBOOK_PATH) -> dict[str, Phrases]:
    """Read and check a phrasebook: every language has every required list, non-empty."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read phrasebook: {exc}", file=str(path)) from exc
    book: dict[str, Phrases] = {}
    for lang, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError("expected one table per language", file=str(path), key=lang)
        phrases: Phrases = {}
        for key, values in table.items():
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(v, str) for v in values)
            ):
                raise ConfigError(
                    "expected a non-empty list of strings", file=str(path), key=f"{lang}.{key}"
                )
            phrases[key] = tuple(values)
        missing = [k for k in _REQUIRED if k not in phrases]
        if missing:
            raise ConfigError(f"missing {', '.join(missing)}", file=str(path), key=lang)
        book[lang] = phrases
    return book


PHRASEBOOK: dict[str, Phrases] = load_phrasebook()
"""Phrases per language; `corpus.py` is the only reader."""
