"""The model registry and the extraction correction store, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from leadbridge.core.errors import ScoringError
from leadbridge.scoring.extraction.corrections import CorrectionStore
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.csv_training import train_csv
from leadbridge.scoring.predictive.registry import Holdout, ModelRegistry
from leadbridge.scoring.predictive.tabular import read_csv
from leadbridge.scoring.predictive.training import TrainConfig

TINY = TrainConfig(depth_candidates=(2,), max_rounds=20, early_stopping_rounds=5)
WEAK = TrainConfig(depth_candidates=(1,), max_rounds=1, early_stopping_rounds=1)


@pytest.fixture(scope="module")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 leads whose minutes on site predict conversion."""
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("csv") / "leads.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["minutes", "source", "converted"])
        for _ in range(300):
            minutes = float(rng.exponential(10))
            won = rng.random() < 1 / (1 + np.exp(-(0.3 * minutes - 2)))
            writer.writerow([f"{minutes:.1f}", rng.choice(["ads", "seo", "mail"]), int(won)])
    return path


@pytest.fixture(scope="module")
def models(leads_csv: Path) -> tuple[TrainedModel, TrainedModel]:
    good = train_csv(leads_csv, target="converted", positive="1", config=TINY, name="m")
    weak = train_csv(leads_csv, target="converted", positive="1", config=WEAK, name="m")
    return good, weak


def test_registry_versions_promotion_and_rollback(
    db_url: str, models: tuple[TrainedModel, TrainedModel], leads_csv: Path
) -> None:
    good, weak = models
    registry = ModelRegistry(db_url)
    try:
        assert registry.champion("m") is None
        v1 = registry.register(good)
        assert v1.card.version == "v1"
        first = registry.promote("m", "v1", holdout=None)
        assert first.promoted
        assert registry.register(weak).card.version == "v2"
        holdout = Holdout.from_table(read_csv(leads_csv), target="converted", positive="1")
        rejected = registry.promote("m", "v2", holdout=holdout)
        assert not rejected.promoted
        assert registry.promote("m", "v2", holdout=holdout, min_gain=-1.0).promoted
        assert registry.champion_version("m") == "v2"
        assert registry.rollback("m") == "v1"
        loaded = registry.champion("m")
        assert loaded is not None
        assert loaded.card.data_hash == v1.card.data_hash
        # The stored bytes are the model: same predictions after the round trip.
        x = holdout.features(loaded)
        assert np.allclose(loaded.predict(x), v1.predict(x))
        records = registry.list("m")
        assert [(r.version, r.champion) for r in records] == [("v1", True), ("v2", False)]
        assert all(r.created_at.tzinfo is UTC for r in records)
        with pytest.raises(ScoringError, match="no version"):
            registry.load("m", "v9")
    finally:
        registry.close()


def test_registry_versions_stay_unique_under_concurrent_registration(
    db_url: str, models: tuple[TrainedModel, TrainedModel]
) -> None:
    good, _ = models
    registries = [ModelRegistry(db_url) for _ in range(3)]
    errors: list[Exception] = []

    def register(registry: ModelRegistry) -> None:
        try:
            for _ in range(3):
                registry.register(good, name="race")
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(r,)) for r in registries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors
        versions = [r.version for r in registries[0].list("race")]
        assert sorted(versions, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(1, 10)]
    finally:
        for r in registries:
            r.close()


def test_corrections_round_trip_newest_wins(db_url: str) -> None:
    sent = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    store = CorrectionStore(db_url)
    try:
        store.correct(
            "m-1", "job_status", "permanent", text="je suis en CDI", lang="fr", sent_at=sent
        )
        store.correct("m-1", "requested_amount", "350'000")
        store.correct("m-1", "job_status", "self_employed")
        rows = store.corrections()
        assert [(r.field, r.value) for r in rows] == [
            ("job_status", "permanent"),
            ("requested_amount", 350000),
            ("job_status", "self_employed"),
        ]
        assert all(r.text == "je suis en CDI" and r.lang == "fr" for r in rows)
        assert rows[1].sent_at == sent  # inherited from the message first seen
        assert all(r.created_at.tzinfo is UTC for r in rows)
        with pytest.raises(ScoringError, match="unknown message id"):
            store.correct("m-404", "currency", "EUR")
    finally:
        store.close()
    reopened = CorrectionStore(db_url)
    assert len(reopened.corrections()) == 3
    reopened.close()
