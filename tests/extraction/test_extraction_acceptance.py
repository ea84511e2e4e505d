"""Acceptance of issue 8 on the hand-written set (tests/extraction/data/handwritten.jsonl)."""

from collections import Counter
from pathlib import Path

import pytest

from leadbridge.scoring.extraction.corpus import generate
from leadbridge.scoring.extraction.evaluation import evaluate, load_gold

GOLD = Path(__file__).parent / "data" / "handwritten.jsonl"


@pytest.fixture(scope="module")
def gold():
    return load_gold(GOLD)


@pytest.fixture(scope="module")
def report(gold):
    return evaluate(gold)


def test_set_is_large_and_covers_the_four_languages(gold):
    assert len(gold) >= 200
    per_lang = Counter(m.lang for m in gold)
    assert set(per_lang) == {"fr", "it", "de", "en"}
    assert min(per_lang.values()) >= 50
    assert sum(1 for m in gold if not m.gold) >= 20  # messages with no facts


def test_set_is_not_produced_by_the_generator(gold):
    generated = {ex.text for ex in generate(4000, seed=1)}
    assert not generated & {m.text for m in gold}


def test_micro_f1_overall(report):
    assert report.overall.f1 >= 0.90, report.markdown()


def test_micro_f1_per_language(report):
    for lang, stats in report.per_lang.items():
        assert stats.f1 >= 0.85, (lang, report.markdown())


def test_precision_above_confidence_threshold(report):
    assert report.above_threshold.tp + report.above_threshold.fp >= 500
    assert report.above_threshold.precision >= 0.95, report.markdown()
