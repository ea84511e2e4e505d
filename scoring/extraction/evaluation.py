"""Evaluation: per-field and per-language precision, recall and F1 on a labelled set.

Slot-filling scoring, the usual way: a predicted field equal to the gold value is a
true positive; a wrong value counts once as a false positive *and* once as a false
negative; a value where gold has none is a false positive; a missed gold value a false
negative. Amounts must match exactly (they are integers), ltv within 0.01, everything
else as strings. Gold ltv is derived from the gold amounts with the extractor's own
definition (requested ÷ property value, else (property − down payment) ÷ property
value), so it is never typed by hand. The language is *not* passed to the extractor:
detection is part of what is measured.

"Precision above threshold" is the share of correct values among the predicted fields
whose confidence reaches the threshold: the values that reach the CRM unverified.

    >>> PRF(tp=9, fp=1, fn=1).f1
    0.9
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.extraction.extractor import Extractor, default_extractor
from leadbridge.scoring.extraction.quality import DEFAULT_THRESHOLD
from leadbridge.scoring.extraction.result import FIELDS

__all__ = ["PRF", "EvaluationReport", "GoldMessage", "evaluate", "gold_ltv", "load_gold"]


@dataclass(frozen=True)
class GoldMessage:
    """One hand-labelled message."""

    id: str
    lang: str
    sent_at: datetime
    text: str
    gold: Mapping[str, Any]


@dataclass
class PRF:
    """True/false positive and false negative counts with the derived scores."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Tp / (tp + fp), 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Tp / (tp + fn), 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return round(2 * p * r / (p + r), 6) if p + r else 0.0

    def add(self, other: PRF) -> None:
        """Accumulate another count."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn


@dataclass
class EvaluationReport:
    """Scores of one evaluation run plus every disagreement, for error analysis."""

    messages: int
    threshold: float
    per_field: dict[str, PRF] = field(default_factory=dict)
    per_lang: dict[str, PRF] = field(default_factory=dict)
    overall: PRF = field(default_factory=PRF)
    above_threshold: PRF = field(default_factory=PRF)
    errors: list[tuple[str, str, object, object]] = field(default_factory=list)

    def markdown(self) -> str:
        """The per-field and per-language tables for docs/benchmarks.md."""
        lines = ["| field | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for name in FIELDS:
            s = self.per_field.get(name, PRF())
            lines.append(
                f"| {name} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.tp + s.fn} |"
            )
        o = self.overall
        lines.append(
            f"| **micro, all fields** | {o.precision:.3f} | {o.recall:.3f} | {o.f1:.3f} | "
            f"{o.tp + o.fn} |"
        )
        lines += ["", "| language | precision | recall | F1 |", "|---|---|---|---|"]
        for lang, s in sorted(self.per_lang.items()):
            lines.append(f"| {lang} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |")
        a = self.above_threshold
        lines += [
            "",
            f"Precision of values with confidence ≥ {self.threshold}: {a.precision:.3f} "
            f"({a.tp} of {a.tp + a.fp} written unverified).",
        ]
        return "\n".join(lines)


def load_gold(path: Path) -> list[GoldMessage]:
    """Read a JSONL gold set (id, lang, sent_at, text, gold); a bad line is a ConfigError."""
    out: list[GoldMessage] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                GoldMessage(
                    id=str(row["id"]),
                    lang=str(row["lang"]),
                    sent_at=datetime.fromisoformat(row["sent_at"]),
                    text=str(row["text"]),
                    gold=dict(row["gold"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"line {number}: {exc}", file=str(path)) from exc
    return out


def gold_ltv(gold: Mapping[str, Any]) -> float | None:
    """The ltv implied by gold amounts, with the extractor's definition."""
    prop = gold.get("property_value")
    if not prop:
        return None
    if gold.get("requested_amount") is not None:
        return round(int(gold["requested_amount"]) / int(prop), 4)
    down = gold.get("down_payment")
    if down is not None and int(down) < int(prop):
        return round((int(prop) - int(down)) / int(prop), 4)
    return None


def _same(name: str, predicted: object, expected: object) -> bool:
    if name == "ltv":
        return abs(float(str(predicted)) - float(str(expected))) <= 0.01
    return str(predicted) == str(expected)


def evaluate(
    messages: Iterable[GoldMessage],
    extractor: Extractor | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> EvaluationReport:
    """Run `extractor` on every message and score it against the gold labels."""
    engine = extractor or default_extractor()
    rows = list(messages)
    report = EvaluationReport(messages=len(rows), threshold=threshold)
    for msg in rows:
        result = engine.extract(msg.text, sent_at=msg.sent_at)
        gold = dict(msg.gold)
        ltv = gold_ltv(gold)
        if ltv is not None:
            gold["ltv"] = ltv
        lang_stats = report.per_lang.setdefault(msg.lang, PRF())
        for name in FIELDS:
            predicted = result.fields.get(name)
            expected = gold.get(name)
            stats = PRF()
            if (
                predicted is not None
                and expected is not None
                and _same(name, predicted.value, expected)
            ):
                stats.tp = 1
            else:
                stats.fp = int(predicted is not None)
                stats.fn = int(expected is not None)
            if stats.fp or stats.fn:
                report.errors.append(
                    (msg.id, name, predicted.value if predicted else None, expected)
                )
            if predicted is not None and predicted.confidence >= threshold:
                report.above_threshold.add(PRF(tp=stats.tp, fp=stats.fp))
            report.per_field.setdefault(name, PRF()).add(stats)
            lang_stats.add(stats)
            report.overall.add(stats)
    return report
