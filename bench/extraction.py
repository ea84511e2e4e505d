"""Entity extraction (issue 8): throughput on one core and quality on the hand-written set.

/work/venv/bin/python bench/extraction.py [--passes 20]

Throughput is measured on one pinned core for the full `extract` (rules + model +
assignment + quality score) and, in the same run, for two baselines: the rules-only
candidate pass (what the model adds on top of) and a naive digits regex (the floor).
Workloads: the hand-written set (220 short real-style messages), 2 000 synthetic
messages from an unseen generator seed, and 200 long e-mails (~5 kB each).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from threadpoolctl import threadpool_limits

from leadbridge.scoring.extraction import Extractor
from leadbridge.scoring.extraction.amounts import find_amounts
from leadbridge.scoring.extraction.corpus import generate
from leadbridge.scoring.extraction.evaluation import evaluate, load_gold
from leadbridge.scoring.extraction.language import detect_language
from leadbridge.scoring.extraction.lexicon import find_mentions
from leadbridge.scoring.extraction.months import find_months

GOLD = Path(__file__).resolve().parents[1] / "tests" / "extraction" / "data" / "handwritten.jsonl"
SENT = datetime(2026, 3, 10, tzinfo=UTC)
NAIVE = re.compile(r"\d[\d .,']*")


def rate(fn: Callable[[str], object], texts: list[str], passes: int) -> float:
    fn(texts[0])
    start = time.perf_counter()
    for _ in range(passes):
        for text in texts:
            fn(text)
    return passes * len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    gold = load_gold(GOLD)
    extractor = Extractor()

    def full(text: str) -> object:
        return extractor.extract(text, sent_at=SENT)

    def rules_only(text: str) -> object:
        lang = detect_language(text)
        return (find_amounts(text, lang), find_mentions(text), find_months(text, SENT))

    def naive(text: str) -> object:
        return NAIVE.findall(text)

    handwritten = [m.text for m in gold]
    synthetic = [e.text for e in generate(2000, seed=99)]
    long_mails = [" ".join(handwritten[i : i + 25]) for i in range(0, 200)]
    with threadpool_limits(limits=1):
        print("workload              extract/s  rules-only/s  naive-regex/s  extract÷rules")
        for name, texts, passes in (
            ("hand-written (220)", handwritten, args.passes),
            ("synthetic (2000)", synthetic, max(1, args.passes // 10)),
            ("long e-mails (~5 kB)", long_mails, max(1, args.passes // 10)),
        ):
            f, r, n = (rate(fn, texts, passes) for fn in (full, rules_only, naive))
            print(f"{name:22s}{f:10.0f}{r:14.0f}{n:15.0f}{f / r:15.2f}")
        report = evaluate(gold, extractor)
    print()
    print(report.markdown())


if __name__ == "__main__":
    main()
