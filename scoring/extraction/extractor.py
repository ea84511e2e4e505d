"""Extractor: rules find the candidates, the model gives them roles, this module decides.

The pipeline for one message: `inputs.prepare` (decode, bound, vet) → language
(given or detected) → `analysis.analyse` (amounts, lexicon mentions, months, with
features) → the model's probabilities → one value per field:

* amounts: greedy assignment, most probable (candidate, role) pair first, each
  candidate used once and each role filled once; a repeated value is not a conflict;
  a percentage given for the down payment or the loan becomes an amount of the
  property value ("20 % d'apport");
* categorical fields and the target month: the most probable kept mention;
* currency: the currency written on the loan/price/down payment, else on any amount;
* ltv: requested ÷ property value, or (property − down payment) ÷ property value.

Confidence is the model probability × the rule's certainty × a penalty when another
candidate competes for the same field with a different value. Fields below
`min_probability` are not reported at all; those below the threshold are reported and
written "to verify".

    >>> result = extract("Je cherche un prêt de 200 000 € pour une maison à 250 000 €, en CDI")
    >>> result.fields["ltv"].value
    0.8
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from leadbridge.scoring.extraction.analysis import analyse
from leadbridge.scoring.extraction.candidates import AMOUNT_ROLES, Candidate
from leadbridge.scoring.extraction.inputs import prepare
from leadbridge.scoring.extraction.language import LANGUAGES, detect_language
from leadbridge.scoring.extraction.model import DEFAULT_MODEL_PATH, LinearModel
from leadbridge.scoring.extraction.quality import DEFAULT_THRESHOLD, quality_score
from leadbridge.scoring.extraction.result import FIELDS, ExtractedField, Extraction

__all__ = ["MODEL_ENV", "Extractor", "default_extractor", "extract"]

MODEL_ENV = "LEADBRIDGE_EXTRACTION_MODEL"
"""Environment variable naming a model file to use instead of the bundled one."""

_KEY_ROLES = ("requested_amount", "property_value", "down_payment")
_CONFLICT_PENALTY = 0.6


class Extractor:
    """Extracts lead facts with one loaded model; safe to share between threads."""

    def __init__(
        self,
        model: LinearModel | None = None,
        *,
        model_path: Path | None = None,
        min_probability: float = 0.5,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.model = (
            model if model is not None else LinearModel.load(model_path or DEFAULT_MODEL_PATH)
        )
        self.min_probability = min_probability
        self.threshold = threshold

    def extract(
        self, text: str | bytes, lang: str | None = None, sent_at: datetime | None = None
    ) -> Extraction:
        """Facts of one message; never raises on content (problems become warnings)."""
        prepared = prepare(text)
        warnings = list(prepared.warnings)
        body = prepared.text
        if not body:
            return Extraction(text=body, warnings=tuple(warnings))
        if lang is not None and lang not in LANGUAGES:
            warnings.append(f"language {lang!r} not supported; detecting instead")
            lang = None
        lang = lang or detect_language(body)
        if lang is None:
            warnings.append("language not detected; fr/it/de/en are supported")
        when = _aware(sent_at)
        analysis = analyse(body, lang, when)
        fields: dict[str, ExtractedField] = {}
        amount_probs = [self.model.amount.proba(s) for s in analysis.amount_slots]
        chosen = self._assign_amounts(analysis.amounts, amount_probs, fields)
        self._currency(analysis.amounts, chosen, fields)
        mention_probs = [float(self.model.mention.proba(s)[1]) for s in analysis.mention_slots]
        self._mentions(analysis.mentions, mention_probs, when, fields)
        self._ltv(fields)
        ordered = {name: fields[name] for name in FIELDS if name in fields}
        quality = quality_score(
            {n: (f.value, f.confidence) for n, f in ordered.items()}, threshold=self.threshold
        )
        return Extraction(
            text=body, lang=lang, fields=ordered, warnings=tuple(warnings), quality=quality
        )

    def _assign_amounts(
        self,
        cands: Sequence[Candidate],
        probs: Sequence[np.ndarray],
        fields: dict[str, ExtractedField],
    ) -> dict[str, Candidate]:
        pairs = sorted(
            (
                (float(p[AMOUNT_ROLES.index(role)]), i, role)
                for i, p in enumerate(probs)
                for role in _KEY_ROLES
            ),
            reverse=True,
        )
        chosen: dict[str, Candidate] = {}
        used: set[int] = set()
        for prob, i, role in pairs:
            cand = cands[i]
            if prob < self.min_probability or i in used or role in chosen:
                continue
            if cand.kind == "percent":
                continue
            used.add(i)
            rival = max(
                (
                    float(probs[j][AMOUNT_ROLES.index(role)])
                    for j, other in enumerate(cands)
                    if j != i and other.kind == "amount" and abs(other.value - cand.value) >= 0.5
                ),
                default=0.0,
            )
            confidence = prob * cand.certainty * (1 - _CONFLICT_PENALTY * rival)
            chosen[role] = cand
            fields[role] = _field(round(cand.value), confidence, cand)
        base = chosen.get("property_value")
        for prob, i, role in pairs:
            cand = cands[i]
            if cand.kind != "percent" or role in fields or i in used or base is None:
                continue
            if prob < self.min_probability or role == "property_value" or not 0 < cand.value <= 100:
                continue
            used.add(i)
            value = round(base.value * cand.value / 100)
            confidence = prob * cand.certainty * fields["property_value"].confidence
            fields[role] = _field(value, confidence, cand)
            chosen[role] = cand
        return chosen

    @staticmethod
    def _currency(
        cands: Sequence[Candidate], chosen: dict[str, Candidate], fields: dict[str, ExtractedField]
    ) -> None:
        key = [c for c in chosen.values() if c.currency]
        pool, confidence = (key, 0.99) if key else ([c for c in cands if c.currency], 0.9)
        if not pool:
            return
        counts = Counter(c.currency for c in pool)
        code, _ = counts.most_common(1)[0]
        if len(counts) > 1:
            confidence *= 0.7
        source = next(c for c in pool if c.currency == code)
        fields["currency"] = _field(code or "", confidence, source)

    def _mentions(
        self,
        cands: Sequence[Candidate],
        probs: Sequence[float],
        when: datetime,
        fields: dict[str, ExtractedField],
    ) -> None:
        sent_month = f"{when.year:04d}-{when.month:02d}"
        best: dict[str, tuple[float, Candidate]] = {}
        for cand, prob in zip(cands, probs, strict=True):
            if cand.field is None or cand.label is None or prob < self.min_probability:
                continue
            if cand.kind == "month" and cand.label < sent_month:
                continue
            score = prob * cand.certainty
            if cand.field not in best or score > best[cand.field][0]:
                best[cand.field] = (score, cand)
        for name, (score, cand) in best.items():
            rival = max(
                (
                    p
                    for other, p in zip(cands, probs, strict=True)
                    if other.field == name and other.label != cand.label
                ),
                default=0.0,
            )
            fields[name] = _field(cand.label or "", score * (1 - _CONFLICT_PENALTY * rival), cand)

    @staticmethod
    def _ltv(fields: dict[str, ExtractedField]) -> None:
        prop = fields.get("property_value")
        if prop is None or not isinstance(prop.value, int) or prop.value <= 0:
            return
        loan = fields.get("requested_amount")
        down = fields.get("down_payment")
        if loan is not None and isinstance(loan.value, int):
            financed, confidence, how = (
                loan.value,
                min(loan.confidence, prop.confidence),
                "requested",
            )
        elif down is not None and isinstance(down.value, int) and down.value < prop.value:
            financed = prop.value - down.value
            confidence = min(down.confidence, prop.confidence)
            how = "property - down payment"
        else:
            return
        fields["ltv"] = ExtractedField(
            value=round(financed / prop.value, 4),
            confidence=confidence,
            span=None,
            text=f"{how} / property value",
        )


def _field(value: int | str, confidence: float, cand: Candidate) -> ExtractedField:
    return ExtractedField(
        value=value,
        confidence=round(min(max(confidence, 0.0), 1.0), 4),
        span=(cand.start, cand.end),
        text=cand.text,
    )


def _aware(sent_at: datetime | None) -> datetime:
    if sent_at is None:
        return datetime.now(UTC)
    if sent_at.tzinfo is None:
        return sent_at.replace(tzinfo=UTC)
    return sent_at


_DEFAULT: Extractor | None = None


def default_extractor() -> Extractor:
    """The shared extractor: the model named by `MODEL_ENV`, else the bundled one."""
    global _DEFAULT
    if _DEFAULT is None:
        override = os.environ.get(MODEL_ENV)
        _DEFAULT = Extractor(model_path=Path(override) if override else None)
    return _DEFAULT


def extract(
    text: str | bytes, lang: str | None = None, sent_at: datetime | None = None
) -> Extraction:
    """Extract lead facts from one message with the default model (see `Extractor`)."""
    return default_extractor().extract(text, lang, sent_at)
