"""Countries, Swiss cantons, languages and currencies: every spelling to one canonical code.

CRMs store the same place many ways (``Switzerland``, ``CH``, ``Schweiz``, ``Suisse``;
``Zürich``, ``ZH``, ``Zurich``, ``CH-ZH``), so a mapping cannot compare them as text.
Countries, languages and currencies come from ISO data (pycountry, with its gettext
translations for country names); the 26 cantons are listed here with their names in the
four national languages and English, because ISO 3166-2 carries only one name each.

    >>> country_code("Schweiz"), canton_code("Zurich"), language_code("de-CH")
    ('CH', 'ZH', 'de')
"""

from __future__ import annotations

import gettext
import unicodedata
from functools import cache

import pycountry

__all__ = [
    "CANTONS",
    "canton_code",
    "canton_name",
    "country_code",
    "country_name",
    "currency_code",
    "currency_name",
    "language_code",
    "language_name",
]

NAME_LANGUAGES: tuple[str, ...] = ("de", "fr", "it", "en")
"""Languages a country or canton name may be rendered in (``name_de``...)."""

CANTONS: dict[str, tuple[str, str, str, str]] = {
    "AG": ("Aargau", "Argovie", "Argovia", "Aargau"),
    "AI": ("Appenzell Innerrhoden", "Appenzell Rhodes-Intérieures", "Appenzello Interno",
           "Appenzell Innerrhoden"),
    "AR": ("Appenzell Ausserrhoden", "Appenzell Rhodes-Extérieures", "Appenzello Esterno",
           "Appenzell Ausserrhoden"),
    "BE": ("Bern", "Berne", "Berna", "Bern"),
    "BL": ("Basel-Landschaft", "Bâle-Campagne", "Basilea Campagna", "Basel-Country"),
    "BS": ("Basel-Stadt", "Bâle-Ville", "Basilea Città", "Basel-City"),
    "FR": ("Freiburg", "Fribourg", "Friburgo", "Fribourg"),
    "GE": ("Genf", "Genève", "Ginevra", "Geneva"),
    "GL": ("Glarus", "Glaris", "Glarona", "Glarus"),
    "GR": ("Graubünden", "Grisons", "Grigioni", "Grisons"),
    "JU": ("Jura", "Jura", "Giura", "Jura"),
    "LU": ("Luzern", "Lucerne", "Lucerna", "Lucerne"),
    "NE": ("Neuenburg", "Neuchâtel", "Neuchâtel", "Neuchâtel"),
    "NW": ("Nidwalden", "Nidwald", "Nidvaldo", "Nidwalden"),
    "OW": ("Obwalden", "Obwald", "Obvaldo", "Obwalden"),
    "SG": ("St. Gallen", "Saint-Gall", "San Gallo", "St. Gallen"),
    "SH": ("Schaffhausen", "Schaffhouse", "Sciaffusa", "Schaffhausen"),
    "SO": ("Solothurn", "Soleure", "Soletta", "Solothurn"),
    "SZ": ("Schwyz", "Schwytz", "Svitto", "Schwyz"),
    "TG": ("Thurgau", "Thurgovie", "Turgovia", "Thurgau"),
    "TI": ("Tessin", "Tessin", "Ticino", "Ticino"),
    "UR": ("Uri", "Uri", "Uri", "Uri"),
    "VD": ("Waadt", "Vaud", "Vaud", "Vaud"),
    "VS": ("Wallis", "Valais", "Vallese", "Valais"),
    "ZG": ("Zug", "Zoug", "Zugo", "Zug"),
    "ZH": ("Zürich", "Zurich", "Zurigo", "Zurich"),
}  # fmt: skip
"""Canton code -> (German, French, Italian, English) name."""

_CANTON_OFFICIAL = {
    "FR": "Fribourg", "GE": "Genève", "JU": "Jura", "NE": "Neuchâtel", "TI": "Ticino",
    "VD": "Vaud", "VS": "Valais",
}  # fmt: skip
"""The name in the canton's own official language (German unless listed)."""

_CURRENCY_SYMBOLS = {
    "fr.": "CHF", "sfr.": "CHF", "sfr": "CHF", "fr": "CHF", "franken": "CHF", "francs": "CHF",
    "€": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "us$": "USD", "£": "GBP",
    "¥": "JPY",
}  # fmt: skip


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used for every lookup."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").replace(".", " ").replace("_", " ").split())


@cache
def _translations(domain: str, language: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return gettext.NullTranslations()


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        code = str(country.alpha_2)
        names = {country.alpha_2, country.alpha_3, country.name}
        for attr in ("official_name", "common_name"):
            if hasattr(country, attr):
                names.add(str(getattr(country, attr)))
        for lang in NAME_LANGUAGES:
            names.add(_translations("iso3166-1", lang).gettext(str(country.name)))
        for name in names:
            index.setdefault(fold(str(name)), code)
    index.update({"uk": "GB", "usa": "US", "suisse": "CH", "schweiz": "CH", "svizzera": "CH"})
    return index


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code of a country code or name in de/fr/it/en; None if unknown."""
    return _country_index().get(fold(value))


def country_name(code: str, fmt: str) -> str:
    """`code` rendered as ``iso2``, ``iso3``, ``name`` (English) or ``name_<lang>``."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"unknown country code {code!r}")
    if fmt == "iso2":
        return str(country.alpha_2)
    if fmt == "iso3":
        return str(country.alpha_3)
    english = str(getattr(country, "common_name", None) or country.name)
    if fmt == "name" or fmt == "name_en":
        return english
    lang = fmt.removeprefix("name_")
    return _translations("iso3166-1", lang).gettext(str(country.name))


@cache
def _canton_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, names in CANTONS.items():
        for name in (code, f"CH-{code}", *names):
            index[fold(name)] = code
    index.update({fold("Sankt Gallen"): "SG", fold("Basel Land"): "BL", fold("Biel"): "BE"})
    return index


def canton_code(value: str) -> str | None:
    """Two-letter canton code of a code, ``CH-xx`` or any de/fr/it/en name; None if unknown."""
    return _canton_index().get(fold(value))


def canton_name(code: str, fmt: str) -> str:
    """`code` as ``code``, ``iso`` (``CH-ZH``), ``name`` (official) or ``name_<de|fr|it|en>``."""
    names = CANTONS.get(code)
    if names is None:
        raise ValueError(f"unknown canton code {code!r}")
    if fmt == "code":
        return code
    if fmt == "iso":
        return f"CH-{code}"
    if fmt == "name":
        return _CANTON_OFFICIAL.get(code, names[0])
    lang = fmt.removeprefix("name_")
    return names[NAME_LANGUAGES.index(lang)]


@cache
def _language_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for language in pycountry.languages:
        code = getattr(language, "alpha_2", None)
        if code is None:
            continue
        for name in (code, language.alpha_3, getattr(language, "bibliographic", None)):
            if name:
                index[fold(str(name))] = str(code)
        index.setdefault(fold(str(language.name)), str(code))
    index.update(
        {
            "deutsch": "de", "allemand": "de", "tedesco": "de", "francais": "fr",
            "franzosisch": "fr", "francese": "fr", "italiano": "it", "italienisch": "it",
            "italien": "it", "english": "en", "englisch": "en", "anglais": "en",
            "inglese": "en", "rumantsch": "rm", "romansh": "rm", "romanche": "rm",
        }
    )  # fmt: skip
    return index


def language_code(value: str) -> str | None:
    """ISO 639-1 code from a code, a locale (``de-CH``, ``fr_CH``) or a name; None if unknown."""
    index = _language_index()
    found = index.get(fold(value))
    if found is None:
        head = fold(value).split(" ")[0]
        if 2 <= len(head) <= 3 and head != fold(value):
            found = index.get(head)
    return found


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 language (``German``)."""
    language = pycountry.languages.get(alpha_2=code)
    if language is None:
        raise ValueError(f"unknown language code {code!r}")
    return str(language.name)


@cache
def _currency_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for currency in pycountry.currencies:
        index[fold(str(currency.alpha_3))] = str(currency.alpha_3)
        index.setdefault(fold(str(currency.name)), str(currency.alpha_3))
    index.update({fold(symbol): code for symbol, code in _CURRENCY_SYMBOLS.items()})
    for symbol, code in _CURRENCY_SYMBOLS.items():
        index.setdefault(symbol, code)
    return index


def currency_code(value: str) -> str | None:
    """ISO 4217 code from a code, a name (``Swiss Franc``) or a symbol (``Fr.``, ``€``)."""
    text = value.strip()
    index = _currency_index()
    return index.get(text.lower()) or index.get(fold(text))


def currency_name(code: str) -> str:
    """The English name of an ISO 4217 currency (``Swiss Franc``)."""
    currency = pycountry.currencies.get(alpha_3=code)
    if currency is None:
        raise ValueError(f"unknown currency code {code!r}")
    return str(currency.name)
