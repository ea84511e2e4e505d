"""Deterministic fake people and companies for seeded emulator portals.

Everything is drawn from a caller's `random.Random`, so `seed` fully determines a portal.
The mix is Swiss-first (cantons, four languages, +41 numbers) with neighbours and a few
English-speaking leads, like the B2B lead bases leadbridge is built for.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

__all__ = [
    "Locale",
    "Person",
    "fake_company",
    "fake_person",
    "pick_locale",
    "poisson",
    "slugify",
    "weighted",
]

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Léa",
        "Camille",
        "Chloé",
        "Manon",
        "Julie",
        "Sophie",
        "Élodie",
        "Nathalie",
        "Lucas",
        "Hugo",
        "Louis",
        "Nicolas",
        "Julien",
        "Thomas",
        "Antoine",
        "Étienne",
        "Mathieu",
        "Céline",
        "Aurélie",
        "François",
        "Benoît",
        "Sébastien",
        "Margaux",
    ),
    "de": (
        "Anna",
        "Lena",
        "Laura",
        "Sarah",
        "Julia",
        "Katharina",
        "Sandra",
        "Nadine",
        "Lukas",
        "Jonas",
        "Daniel",
        "Michael",
        "Stefan",
        "Andreas",
        "Thomas",
        "Reto",
        "Urs",
        "Beat",
        "Jürg",
        "Marco",
        "Simone",
        "Corinne",
        "Matthias",
    ),
    "it": (
        "Giulia",
        "Chiara",
        "Francesca",
        "Sara",
        "Valentina",
        "Alessia",
        "Elena",
        "Marco",
        "Luca",
        "Matteo",
        "Alessandro",
        "Davide",
        "Paolo",
        "Giorgio",
        "Fabio",
    ),
    "en": (
        "Emma",
        "Olivia",
        "Emily",
        "Sophie",
        "Grace",
        "Hannah",
        "Charlotte",
        "James",
        "Oliver",
        "Jack",
        "Harry",
        "William",
        "George",
        "Daniel",
        "Ryan",
        "Michael",
    ),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Dupont",
        "Martin",
        "Bernard",
        "Favre",
        "Rochat",
        "Monnier",
        "Girard",
        "Perret",
        "Blanc",
        "Chevalier",
        "Morel",
        "Fontaine",
        "Rey",
        "Dubois",
        "Mercier",
        "Jaquet",
        "Pittet",
        "Bonvin",
        "Délèze",
        "Crettenand",
        "Lambert",
        "Roux",
    ),
    "de": (
        "Müller",
        "Meier",
        "Schmid",
        "Keller",
        "Weber",
        "Huber",
        "Schneider",
        "Brunner",
        "Steiner",
        "Baumann",
        "Fischer",
        "Gerber",
        "Frei",
        "Wyss",
        "Zimmermann",
        "Moser",
        "Graf",
        "Bühler",
        "Kälin",
        "Hofmann",
        "Lüthi",
        "Zürcher",
    ),
    "it": (
        "Rossi",
        "Bernasconi",
        "Bianchi",
        "Ferrari",
        "Colombo",
        "Fontana",
        "Lombardi",
        "Galli",
        "Moretti",
        "Pedrazzini",
        "Rezzonico",
        "Ghisletta",
        "Conti",
        "Marchetti",
    ),
    "en": (
        "Smith",
        "Jones",
        "Taylor",
        "Brown",
        "Williams",
        "Wilson",
        "Johnson",
        "Davies",
        "Evans",
        "Thomas",
        "Roberts",
        "Walker",
        "Wright",
        "Thompson",
        "White",
        "Green",
    ),
}
COMPANY_ROOTS = (
    "Alpina",
    "Helvetia",
    "Léman",
    "Jura",
    "Rhône",
    "Aar",
    "Säntis",
    "Pilatus",
    "Gotthard",
    "Matterhorn",
    "Lavaux",
    "Ticino",
    "Nordlicht",
    "Edelweiss",
    "Bernina",
    "Morges",
    "Limmat",
    "Seeland",
    "Riviera",
    "Sirius",
    "Orion",
    "Vega",
    "Kessler",
    "Baumann",
    "Favre",
    "Nexa",
    "Quanta",
    "Arcadia",
    "Solaris",
    "Vertex",
    "Cobalt",
    "Meridian",
    "Atlas",
    "Hélios",
    "Boréal",
)
COMPANY_KINDS = (
    "Consulting",
    "Systems",
    "Immobilier",
    "Finance",
    "Logistik",
    "Medical",
    "Software",
    "Energie",
    "Assurances",
    "Technik",
    "Digital",
    "Partners",
    "Pharma",
    "Bau",
    "Invest",
    "Analytics",
    "Ingénierie",
    "Treuhand",
)
JOB_TITLES = (
    "CEO",
    "CFO",
    "CTO",
    "COO",
    "Head of Marketing",
    "Marketing Manager",
    "Sales Director",
    "Account Executive",
    "Procurement Manager",
    "IT Manager",
    "Directeur général",
    "Responsable marketing",
    "Chef de projet",
    "Geschäftsführer",
    "Leiter Einkauf",
    "Projektleiter",
    "Responsabile vendite",
    "Office Manager",
    "Data Analyst",
    "HR Business Partner",
    "Product Manager",
    "Founder",
)
INDUSTRIES = (
    "Financial Services",
    "Banking",
    "Insurance",
    "Real Estate",
    "Computer Software",
    "Information Technology and Services",
    "Hospital & Health Care",
    "Pharmaceuticals",
    "Construction",
    "Logistics and Supply Chain",
    "Management Consulting",
    "Retail",
    "Machinery",
    "Renewables & Environment",
    "Education Management",
    "Accounting",
    "Legal Services",
    "Hospitality",
)


@dataclass(frozen=True)
class Locale:
    """Where a lead lives: country, region (`state`, a canton in Switzerland), city, language."""

    country: str
    state: str
    city: str
    language: str
    tld: str
    phone_prefix: str


_SWISS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Genève", "fr", ("Genève", "Carouge", "Meyrin", "Vernier")),
    ("Vaud", "fr", ("Lausanne", "Morges", "Nyon", "Montreux", "Yverdon-les-Bains")),
    ("Valais", "fr", ("Sion", "Martigny", "Monthey")),
    ("Fribourg", "fr", ("Fribourg", "Bulle")),
    ("Neuchâtel", "fr", ("Neuchâtel", "La Chaux-de-Fonds")),
    ("Zürich", "de", ("Zürich", "Winterthur", "Uster")),
    ("Bern", "de", ("Bern", "Biel/Bienne", "Thun")),
    ("Basel-Stadt", "de", ("Basel",)),
    ("Luzern", "de", ("Luzern", "Emmen")),
    ("St. Gallen", "de", ("St. Gallen", "Rapperswil-Jona")),
    ("Aargau", "de", ("Aarau", "Baden")),
    ("Ticino", "it", ("Lugano", "Bellinzona", "Locarno")),
)
_ABROAD: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    ("France", "Auvergne-Rhône-Alpes", "fr", "fr", "+33", ("Lyon", "Annecy", "Grenoble")),
    ("France", "Île-de-France", "fr", "fr", "+33", ("Paris", "Boulogne-Billancourt")),
    ("Germany", "Baden-Württemberg", "de", "de", "+49", ("Stuttgart", "Freiburg")),
    ("Germany", "Bayern", "de", "de", "+49", ("München", "Nürnberg")),
    ("Italy", "Lombardia", "it", "it", "+39", ("Milano", "Como")),
    ("United Kingdom", "England", "en", "co.uk", "+44", ("London", "Manchester")),
    ("United States", "New York", "en", "com", "+1", ("New York",)),
    ("United States", "California", "en", "com", "+1", ("San Francisco", "San Jose")),
)


def pick_locale(rng: random.Random) -> Locale:
    """Swiss ~60 % (all cantons weighted), neighbours and English-speaking markets after."""
    if rng.random() < 0.6:
        state, language, cities = rng.choice(_SWISS)
        if rng.random() < 0.08:
            language = "en"
        return Locale("Switzerland", state, rng.choice(cities), language, "ch", "+41")
    country, state, language, tld, prefix, cities = rng.choice(_ABROAD)
    return Locale(country, state, rng.choice(cities), language, tld, prefix)


def slugify(text: str) -> str:
    """ASCII, lower-case, dots for spaces: `Délèze Müller` -> `deleze.muller`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    kept = "".join(c if c.isalnum() else "." for c in ascii_text.lower())
    return ".".join(part for part in kept.split(".") if part)


def fake_company(rng: random.Random, locale: Locale) -> str:
    """A plausible company name with the legal form of its country."""
    forms = {
        "Switzerland": ("SA", "AG", "Sàrl", "GmbH"),
        "France": ("SAS", "SA", "SARL"),
        "Germany": ("GmbH", "AG"),
        "Italy": ("S.r.l.", "S.p.A."),
        "United Kingdom": ("Ltd",),
        "United States": ("Inc.", "LLC"),
    }
    form = rng.choice(forms[locale.country])
    return f"{rng.choice(COMPANY_ROOTS)} {rng.choice(COMPANY_KINDS)} {form}"


def fake_phone(rng: random.Random, locale: Locale) -> str:
    """A phone number, mostly E.164 with spaces, sometimes compact or national (as typed)."""
    digits = [str(rng.randint(0, 9)) for _ in range(7)]
    style = rng.random()
    if locale.phone_prefix == "+41":
        area = rng.choice(("79", "78", "76", "77", "21", "22", "44", "31", "61", "91"))
        grouped = f"{''.join(digits[:3])} {''.join(digits[3:5])} {''.join(digits[5:7])}"
        if style < 0.7:
            return f"+41 {area} {grouped}"
        if style < 0.9:
            return f"+41{area}{''.join(digits)}"
        return f"0{area} {grouped}"
    if locale.phone_prefix == "+33":
        return (
            f"+33 {rng.choice('67')} {''.join(digits[:2])} {''.join(digits[2:4])} "
            f"{''.join(digits[4:6])} {digits[6]}{rng.randint(0, 9)}"
        )
    if locale.phone_prefix == "+49":
        return f"+49 1{rng.choice(('51', '60', '70', '76'))} {''.join(digits)}{rng.randint(0, 9)}"
    if locale.phone_prefix == "+39":
        return f"+39 3{rng.randint(20, 49)} {''.join(digits)}"
    if locale.phone_prefix == "+44":
        return f"+44 7700 {''.join(digits[:6])}"
    return f"+1 {rng.choice(('212', '415', '408'))}-555-{''.join(digits[:4])}"


@dataclass(frozen=True)
class Person:
    """One fake lead's identity fields."""

    firstname: str
    lastname: str
    email: str
    phone: str
    company: str
    jobtitle: str
    industry: str
    locale: Locale


def fake_person(rng: random.Random, serial: int) -> Person:
    """A person; `serial` keeps e-mail addresses unique across a portal."""
    locale = pick_locale(rng)
    names_lang = locale.language if locale.language in FIRST_NAMES else "en"
    first = rng.choice(FIRST_NAMES[names_lang])
    last = rng.choice(LAST_NAMES[names_lang])
    company = fake_company(rng, locale)
    if rng.random() < 0.12:
        domain = rng.choice(("gmail.com", "outlook.com", "bluewin.ch", "gmx.ch", "yahoo.fr"))
    else:
        root = slugify(company.split(" ")[0]) + "-" + slugify(company.split(" ")[1])
        domain = f"{root}.{locale.tld}"
    email = f"{slugify(first)}.{slugify(last)}{serial}@{domain}"
    return Person(
        firstname=first,
        lastname=last,
        email=email,
        phone=fake_phone(rng, locale),
        company=company,
        jobtitle=rng.choice(JOB_TITLES),
        industry=rng.choice(INDUSTRIES),
        locale=locale,
    )


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth), small means only."""
    if mean <= 0:
        return 0
    limit, k, p = 2.718281828459045**-mean, 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    """One name from (name, weight) pairs, drawn with a single `rng.random()`."""
    roll, acc = rng.random() * sum(w for _, w in options), 0.0
    for name, weight in options:
        acc += weight
        if roll <= acc:
            return name
    return options[-1][0]
