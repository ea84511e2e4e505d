"""Normalisation of lead attributes before fit rules compare them.

Swiss data arrives as ``Genève``, ``Genf``, ``GE`` or ``Ginevra`` for one canton and as
``fr-CH``, ``Français`` or ``French`` for one language (seed 002). Config values and lead
values go through the same functions, so a preset written with ``ge`` matches them all.
Text is case-folded, accent-stripped and whitespace-collapsed.
"""

from __future__ import annotations

import math
import unicodedata

from leadbridge.core.models import Lead

__all__ = [
    "Scalar",
    "as_number",
    "canonical_text",
    "lead_raw_value",
    "normalize_value",
    "text_of",
]

Scalar = str | int | float | bool | None
"""A `Lead.custom` value (JSON scalar)."""

_CANTONS: dict[str, tuple[str, ...]] = {
    "ag": ("aargau", "argovie", "argovia"),
    "ai": ("appenzell innerrhoden", "appenzell rhodes-interieures", "appenzello interno"),
    "ar": ("appenzell ausserrhoden", "appenzell rhodes-exterieures", "appenzello esterno"),
    "be": ("bern", "berne", "berna"),
    "bl": ("basel-landschaft", "bale-campagne", "basilea campagna"),
    "bs": ("basel-stadt", "basel", "bale-ville", "bale", "basilea citta", "basilea"),
    "fr": ("fribourg", "freiburg", "friburgo"),
    "ge": ("geneve", "genf", "ginevra", "geneva"),
    "gl": ("glarus", "glaris", "glarona"),
    "gr": ("graubunden", "grisons", "grigioni"),
    "ju": ("jura", "giura"),
    "lu": ("luzern", "lucerne", "lucerna"),
    "ne": ("neuchatel", "neuenburg"),
    "nw": ("nidwalden", "nidwald", "nidvaldo"),
    "ow": ("obwalden", "obwald", "obvaldo"),
    "sg": ("st. gallen", "st gallen", "saint-gall", "san gallo"),
    "sh": ("schaffhausen", "schaffhouse", "sciaffusa"),
    "so": ("solothurn", "soleure", "soletta"),
    "sz": ("schwyz", "svitto"),
    "tg": ("thurgau", "thurgovie", "turgovia"),
    "ti": ("ticino", "tessin"),
    "ur": ("uri",),
    "vd": ("vaud", "waadt"),
    "vs": ("valais", "wallis", "vallese"),
    "zg": ("zug", "zoug", "zugo"),
    "zh": ("zurich", "zuerich", "zurigo"),
}
_CANTON_ALIASES = {alias: code for code, names in _CANTONS.items() for alias in names}
_CANTON_ALIASES.update({f"ch-{code}": code for code in _CANTONS})

_LANGUAGES: dict[str, tuple[str, ...]] = {
    "fr": ("french", "francais", "franzosisch", "francese", "fra", "fre"),
    "de": ("german", "deutsch", "allemand", "tedesco", "deu", "ger", "schweizerdeutsch"),
    "it": ("italian", "italiano", "italien", "italienisch", "ita"),
    "en": ("english", "anglais", "englisch", "inglese", "eng"),
    "rm": ("romansh", "romanche", "rumantsch", "romancio", "roh"),
}
_LANGUAGE_ALIASES = {alias: code for code, names in _LANGUAGES.items() for alias in names}

_COUNTRIES: dict[str, tuple[str, ...]] = {
    "ch": ("switzerland", "suisse", "schweiz", "svizzera", "che", "confoederatio helvetica"),
    "li": ("liechtenstein", "lie"),
    "fr": ("france", "frankreich", "francia", "fra"),
    "de": ("germany", "allemagne", "deutschland", "germania", "deu"),
    "it": ("italy", "italie", "italien", "italia", "ita"),
    "at": ("austria", "autriche", "osterreich", "aut"),
    "be": ("belgium", "belgique", "belgien", "bel"),
    "lu": ("luxembourg", "luxemburg", "lux"),
    "gb": ("united kingdom", "uk", "royaume-uni", "great britain", "gbr"),
    "us": ("united states", "usa", "etats-unis", "vereinigte staaten"),
}
_COUNTRY_ALIASES = {alias: code for code, names in _COUNTRIES.items() for alias in names}


def canonical_text(value: str) -> str:
    """Case-fold, strip accents and collapse whitespace: ``" Genève "`` -> ``"geneve"``."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def normalize_value(field: str, value: str) -> str:
    """The comparable form of a text attribute, with canton/language/country aliases."""
    text = canonical_text(value)
    if field == "region":
        return _CANTON_ALIASES.get(text, text)
    if field == "language":
        primary = text.replace("_", "-").split("-", 1)[0]
        return _LANGUAGE_ALIASES.get(text, _LANGUAGE_ALIASES.get(primary, primary))
    if field == "country":
        return _COUNTRY_ALIASES.get(text, text)
    return text


def text_of(value: Scalar) -> str | None:
    """The text form of a scalar for text criteria (``True`` -> ``"true"``, 5 -> ``"5"``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_number(value: Scalar) -> float | None:
    """A finite number from an int/float (or a numeric string such as ``"450000"``)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(value.replace("'", "").replace("\u2019", "").replace(" ", ""))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def lead_raw_value(lead: Lead, field: str, facts: dict[str, float] | None = None) -> Scalar:
    """The raw value of a fit field: a `Lead` attribute or a ``custom.<key>``.

    `facts` (from activities, such as simulator inputs) fill custom keys the lead lacks.
    """
    if field.startswith("custom."):
        key = field[len("custom.") :]
        value = lead.custom.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return facts.get(key) if facts else None
        return value
    value = getattr(lead, field)
    if isinstance(value, str) and not value.strip():
        return None
    result: Scalar = value
    return result
