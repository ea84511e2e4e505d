"""Corpus: a labelled synthetic corpus of lead messages, generated deterministically.

Seed 001's recipe for training without GDPR-compliant chat history: generate many
variations of typical sentences and annotate them. Here the generator combines the
`phrasebook` templates at random (seeded, so the same seed gives the same corpus and
the same model), renders amounts in every local format (groupings with spaces, dots,
apostrophes and commas, "k", "Mio.", "mila", spelled-out numbers via `num2words`, with
and without currency), resolves month expressions against a random message date, adds
distractors (salaries, monthly payments, a partner's job, past months, another
property) and WhatsApp noise (lower case, missing accents, typos in the filler text,
emoji), and records the character span and label of every fact it wrote.

    >>> examples = generate(2, seed=7)
    >>> all(ex.text[s.start : s.end] for ex in examples for s in ex.spans)
    True
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from leadbridge.scoring.extraction.lexicon import find_mentions
from leadbridge.scoring.extraction.months import shift_month
from leadbridge.scoring.extraction.phrasebook import PHRASEBOOK, Phrases

__all__ = ["Example", "Span", "generate"]

_LANGS = ("fr", "it", "de", "en")
_CURRENCIES = {
    "fr": (("EUR", 0.75), ("CHF", 0.25)),
    "it": (("EUR", 0.9), ("CHF", 0.1)),
    "de": (("EUR", 0.65), ("CHF", 0.35)),
    "en": (("GBP", 0.55), ("USD", 0.25), ("EUR", 0.1), ("CHF", 0.1)),
}
_SLOT = re.compile(r"\{(A|P):([a-z_]+)\}|\{(J-?|T-?|U|N|M[-+]?|E)\}")
_ACCENTS = str.maketrans("éèêëàâäîïôöùûüçÉÈÀÇ", "eeeeaaaiioouuucEEAC")


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled fact in a generated message: amount role, or field and label."""

    start: int
    end: int
    field: str
    label: str


@dataclass(frozen=True, slots=True)
class Example:
    """One generated message with its language, date and labelled spans."""

    text: str
    lang: str
    sent_at: datetime
    spans: tuple[Span, ...] = ()


@dataclass
class _Facts:
    """The facts of one message, chosen before any sentence is written."""

    currency: str
    job: str
    prop: str
    purpose: str
    energy: str
    amounts: dict[str, float] = field(default_factory=dict)


class _Writer:
    """Builds one message clause by clause, keeping the labelled spans aligned."""

    def __init__(self, rng: random.Random, lang: str, sent_at: datetime, facts: _Facts) -> None:
        self.rng = rng
        self.lang = lang
        self.book: Phrases = PHRASEBOOK[lang]
        self.sent_at = sent_at
        self.facts = facts
        self.text = ""
        self.spans: list[Span] = []

    def pick(self, key: str) -> str:
        return self.rng.choice(self.book[key])

    def clause(self, template: str) -> None:
        """Append `template` with its slots filled (and literal text possibly misspelt)."""
        if self.text:
            self.text += self.rng.choice((", ", ". ", " ", "\n", " - ", "! "))
        pos = 0
        for m in _SLOT.finditer(template):
            self.text += self._noisy(template[pos : m.start()])
            self._slot(m)
            pos = m.end()
        self.text += self._noisy(template[pos:])

    def _noisy(self, literal: str) -> str:
        if len(literal) < 4 or self.rng.random() > 0.12:
            return literal
        i = self.rng.randrange(1, len(literal) - 1)
        if not literal[i].isalpha():
            return literal
        op = self.rng.random()
        if op < 0.4:
            return literal[:i] + literal[i + 1 :]
        if op < 0.7:
            return literal[: i - 1] + literal[i] + literal[i - 1] + literal[i + 1 :]
        return literal[:i] + literal[i] + literal[i:]

    def _emit(self, rendered: str, field_name: str | None, label: str) -> None:
        start = len(self.text)
        self.text += rendered
        if field_name is not None:
            self.spans.append(Span(start, len(self.text), field_name, label))

    def _slot(self, m: re.Match[str]) -> None:
        kind, role, other = m.group(1), m.group(2), m.group(3)
        facts = self.facts
        if kind == "A":
            value = facts.amounts[role]
            self._emit(self._amount(value, role), role, role)
        elif kind == "P":
            pct = facts.amounts.get(f"pct:{role}", 20.0)
            self._emit(self._percent(pct), role, role)
        elif other == "J":
            self._emit(self.pick(f"job:{facts.job}"), "job_status", facts.job)
        elif other == "J-":
            decoy = self.rng.choice([j for j in _JOBS if j != facts.job])
            self._emit(self.pick(f"job:{decoy}"), None, "")
        elif other == "T":
            self._emit(self.pick(f"prop:{facts.prop}"), "property_type", facts.prop)
        elif other == "T-":
            decoy = self.rng.choice([p for p in _PROPS if p != facts.prop])
            self._emit(self.pick(f"prop:{decoy}"), None, "")
        elif other == "U":
            self._emit(self.pick(f"verb:{facts.purpose}"), "loan_purpose", facts.purpose)
        elif other == "N":
            self._emit(self.pick(f"noun:{facts.purpose}"), "loan_purpose", facts.purpose)
        elif other == "E":
            self._emit(facts.energy, "energy_class", facts.energy)
        elif other == "M":
            rendered, label = self._target_month()
            self._emit(rendered, "target_month", label)
        elif other == "M+":
            ahead = self.rng.randrange(1, 10)
            year, month = shift_month(self.sent_at.year, self.sent_at.month, ahead)
            name = self.book["months"][month - 1]
            self._emit(f"{name} {year}" if self.rng.random() < 0.3 else name, None, "")
        else:
            self._emit(self._past_month(), None, "")

    def _target_month(self) -> tuple[str, str]:
        rng, sent = self.rng, self.sent_at
        if rng.random() < 0.4:
            form = self.pick("relative_forms")
            if "{n}" not in form:
                return form, f"{sent.year:04d}-12"
            n = rng.choice((2, 3, 4, 6, 6, 8, 9, 12))
            year, month = shift_month(sent.year, sent.month, n)
            return form.replace("{n}", str(n)), f"{year:04d}-{month:02d}"
        ahead = rng.randrange(0, 12)
        year, month = shift_month(sent.year, sent.month, ahead)
        form = self.pick("month_forms")
        rendered = form.replace("{m}", self.book["months"][month - 1]).replace("{y}", str(year))
        return rendered, f"{year:04d}-{month:02d}"

    def _past_month(self) -> str:
        month = self.rng.randrange(1, 13)
        name = self.book["months"][month - 1]
        if self.rng.random() < 0.5:
            return f"{name} {self.sent_at.year - self.rng.randrange(1, 9)}"
        return name

    def _percent(self, pct: float) -> str:
        n = f"{pct:g}".replace(".", "," if self.lang != "en" else ".")
        return self.pick("pct_forms").replace("{n}", n)

    def _amount(self, value: float, role: str) -> str:
        return render_amount(value, self.lang, self.facts.currency, self.rng)


_JOBS = (
    "permanent",
    "fixed_term",
    "self_employed",
    "civil_servant",
    "retired",
    "unemployed",
    "student",
)
_PROPS = ("apartment", "house", "villa", "land", "commercial")
_PURPOSES = ("purchase", "refinance", "renovation", "investment")


def render_amount(value: float, lang: str, currency: str, rng: random.Random) -> str:
    """`value` written as a lead in `lang` might write it, with or without `currency`."""
    swiss = currency == "CHF"
    group = {"fr": " ", "it": ".", "de": ".", "en": ","}[lang]
    if swiss and lang != "en" and rng.random() < 0.7:
        group = "'"
    elif lang == "fr" and rng.random() < 0.25:
        group = rng.choice((".", "\u202f"))
    decimal = "." if lang == "en" else ","
    style = rng.random()
    if style < 0.08 and value >= 1000 and value % 1000 == 0:
        number = _words(value, lang)
    elif value >= 1_000_000 and style < 0.45:
        millions = f"{value / 1e6:g}".replace(".", decimal)
        number = millions + rng.choice(
            {
                "fr": (" M", " millions", "M", " million"),
                "it": (" milioni", " mln", " milione"),
                "de": (" Mio.", " Mio", " Millionen", " Million"),
                "en": ("m", " million", "M", " mn"),
            }[lang]
        )
    elif value >= 10_000 and value % 1000 == 0 and style < 0.5:
        thousands = str(int(value // 1000))
        number = thousands + rng.choice(
            {
                "fr": ("k", " k", "K", " mille"),
                "it": ("k", " mila", "mila", "K"),
                "de": ("k", " Tsd.", "K", "k"),
                "en": ("k", "K", " thousand", "k"),
            }[lang]
        )
    elif style < 0.62 and value >= 1000:
        number = str(int(value))
    else:
        digits = f"{int(value):,}".replace(",", group)
        number = digits
    if rng.random() < 0.3:
        return number
    return _with_currency(number, lang, currency, rng)


def _with_currency(number: str, lang: str, currency: str, rng: random.Random) -> str:
    options: tuple[str, ...]
    if currency == "EUR":
        word = {"fr": "euros", "it": "euro", "de": "Euro", "en": "euros"}[lang]
        options = (f"{number} €", f"{number}€", f"{number} {word}", f"€{number}", f"{number} EUR")
    elif currency == "CHF":
        word = {"fr": "francs", "it": "franchi", "de": "Franken", "en": "francs"}[lang]
        options = (
            f"{number} CHF",
            f"CHF {number}",
            f"{number} {word}",
            f"{number}.- CHF",
            f"Fr. {number}",
        )
    elif currency == "GBP":
        options = (f"£{number}", f"£{number}", f"{number} pounds", f"{number} GBP")
    else:
        options = (f"${number}", f"${number}", f"{number} dollars", f"{number} USD")
    choice = rng.choice(options)
    if choice.endswith(".- CHF") and not number[-1].isdigit():
        return f"{number} CHF"
    return choice


def _words(value: float, lang: str) -> str:
    from num2words import num2words  # type: ignore[import-untyped]  # training only

    text: str = num2words(int(value), lang=lang)
    return text.replace(",", "")


def _amount_template(writer: _Writer, role: str) -> str:
    return writer.pick(role).replace("{A}", "{A:" + role + "}")


def _pct(writer: _Writer, role: str) -> str:
    return writer.pick(f"pct:{role}").replace("{P}", "{P:" + role + "}")


def _round(value: float, step: int) -> float:
    return float(max(step, round(value / step) * step))


def _facts(rng: random.Random, lang: str) -> _Facts:
    currencies, weights = zip(*_CURRENCIES[lang], strict=True)
    facts = _Facts(
        currency=rng.choices(currencies, weights)[0],
        job=rng.choice(_JOBS),
        prop=rng.choice(_PROPS),
        purpose=rng.choice(_PURPOSES),
        energy=rng.choice("ABCDEFG"),
    )
    price = _round(10 ** rng.uniform(4.8, 6.4), rng.choice((1000, 5000, 10000)))
    facts.amounts["property_value"] = price
    low, high = {"renovation": (0.03, 0.35), "refinance": (0.15, 0.8)}.get(
        facts.purpose, (0.5, 1.0)
    )
    facts.amounts["requested_amount"] = _round(price * rng.uniform(low, high), 1000)
    facts.amounts["down_payment"] = _round(price * rng.uniform(0.05, 0.5), 1000)
    if rng.random() < 0.5:
        facts.amounts["salary"] = _round(rng.uniform(1500, 9000), 100)
    else:
        facts.amounts["salary"] = _round(rng.uniform(25000, 150000), 1000)
    facts.amounts["monthly_payment"] = _round(rng.uniform(300, 3000), 10)
    facts.amounts["other"] = _round(rng.uniform(1000, 60000), 500)
    facts.amounts["pct:down_payment"] = float(rng.choice((10, 15, 20, 25, 30, 40, 50)))
    facts.amounts["pct:requested_amount"] = float(rng.choice((70, 80, 85, 90, 100)))
    facts.amounts["pct:other"] = rng.choice((1.5, 2.1, 3.5, 3.9, 4.2, 2.75))
    return facts


def _message(rng: random.Random, lang: str) -> Example:
    sent_at = datetime(2024, 1, 1, 9, tzinfo=UTC) + timedelta(days=rng.randrange(0, 1100))
    facts = _facts(rng, lang)
    writer = _Writer(rng, lang, sent_at, facts)
    clauses: list[str] = []
    if rng.random() < 0.08:
        clauses = [writer.pick("noise") for _ in range(rng.randint(1, 2))]
    else:
        if rng.random() < 0.55:
            clauses.append(writer.pick("purpose_keep"))
        has_price_type = False
        down_p = 0.5 if facts.purpose in ("purchase", "investment") else 0.1
        for role, p in (
            ("requested_amount", 0.55),
            ("property_value", 0.6),
            ("down_payment", down_p),
        ):
            if rng.random() < p:
                specific = f"requested_amount:{facts.purpose}"
                if role == "requested_amount" and specific in writer.book and rng.random() < 0.5:
                    clauses.append(writer.pick(specific).replace("{A}", "{A:requested_amount}"))
                    continue
                if role == "down_payment" and rng.random() < 0.3:
                    clauses.append(_pct(writer, "down_payment"))
                    continue
                template = _amount_template(writer, role)
                has_price_type = has_price_type or "{T}" in template
                clauses.append(template)
        if rng.random() < 0.08:
            clauses.append(_pct(writer, "requested_amount"))
            if not any("{A:property_value}" in c for c in clauses):
                clauses.append(_amount_template(writer, "property_value"))
        if not has_price_type and rng.random() < 0.55:
            clauses.append(writer.pick("prop_keep"))
        for key, p in (("salary", 0.3), ("monthly_payment", 0.25), ("other", 0.12)):
            if rng.random() < p:
                clauses.append(_amount_template(writer, key))
        if rng.random() < 0.1:
            clauses.append(_pct(writer, "other"))
        for key, p in (
            ("job_keep", 0.6),
            ("job_other", 0.15),
            ("prop_other", 0.1),
            ("month_keep", 0.4),
            ("month_other", 0.1),
            ("month_future_other", 0.1),
            ("energy", 0.12),
            ("noise", 0.2),
        ):
            if rng.random() < p:
                clauses.append(writer.pick(key))
        rng.shuffle(clauses)
    if rng.random() < 0.6:
        clauses.insert(0, writer.pick("greet"))
    if rng.random() < 0.3:
        clauses.append(writer.pick("close"))
    for clause in clauses:
        writer.clause(clause)
    text = writer.text
    spans = _label_literal_purposes(text, writer.spans)
    roll = rng.random()
    if roll < 0.25:
        text = text.lower()
    elif roll < 0.35:
        text = text.translate(_ACCENTS)
    if rng.random() < 0.1:
        text += " " + rng.choice(("🙏", "😊", "🏡", "👍", "😅"))
    return Example(text=text, lang=lang, sent_at=sent_at, spans=spans)


def _label_literal_purposes(text: str, spans: list[Span]) -> tuple[Span, ...]:
    """Label purpose words that templates wrote literally ("Kaufpreis", "buying a flat").

    Such a word states the purpose when the message states no other: a reader of
    "Kaufpreis 300.000" knows it is a purchase. When the purpose slot says otherwise,
    the literal word is not the purpose (buying to let out is an investment).
    """
    stated = {s.label for s in spans if s.field == "loan_purpose"}
    out = list(spans)
    for hit in find_mentions(text):
        if hit.field != "loan_purpose" or hit.label is None:
            continue
        if any(s.start < hit.end and hit.start < s.end for s in spans):
            continue
        if not stated or hit.label in stated:
            out.append(Span(hit.start, hit.end, "loan_purpose", hit.label))
    return tuple(sorted(out, key=lambda s: s.start))


def generate(n: int, *, seed: int = 1) -> list[Example]:
    """`n` labelled messages, evenly across fr/it/de/en; same seed, same corpus."""
    rng = random.Random(seed)
    return [_message(rng, _LANGS[i % len(_LANGS)]) for i in range(n)]
