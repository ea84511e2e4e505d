"""`leadbridge model train --csv`: train and evaluate a model from any CRM's CSV export.

The steps, in order: read and type the file (`tabular`), drop deny-listed after-contact
fields unless allowed (`leakage`), split (time-ordered with a time column, stratified
80/20 otherwise), fit the categorical encoder on the training rows only, warn about any
single column that alone gives ROC AUC > 0.9 on the training rows, then train and
evaluate (`training`). Every user mistake surfaces as one `TrainingDataError` line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.dataset import Dataset, TrainingDataError
from leadbridge.scoring.predictive.leakage import leak_warnings, screen_columns
from leadbridge.scoring.predictive.tabular import CsvTable, TabularEncoder, TabularFrame, read_csv
from leadbridge.scoring.predictive.training import TrainConfig, split_rows, train_dataset

__all__ = ["evaluate_csv_rows", "train_csv", "train_table"]


def train_csv(
    path: str | Path,
    *,
    target: str,
    positive: str,
    sep: str = ",",
    exclude: Sequence[str] = (),
    time_column: str | None = None,
    allow: Sequence[str] = (),
    config: TrainConfig | None = None,
    name: str = "default",
) -> TrainedModel:
    """Read `path` and train; see `train_table`."""
    table = read_csv(path, sep=sep)
    return train_table(
        table,
        target=target,
        positive=positive,
        exclude=exclude,
        time_column=time_column,
        allow=allow,
        config=config,
        name=name,
    )


def train_table(
    table: CsvTable,
    *,
    target: str,
    positive: str,
    exclude: Sequence[str] = (),
    time_column: str | None = None,
    allow: Sequence[str] = (),
    config: TrainConfig | None = None,
    name: str = "default",
) -> TrainedModel:
    """Train on a parsed table: leak screening, split, encoding, training, evaluation."""
    cfg = config or TrainConfig()
    if target in exclude:
        raise TrainingDataError(f"{table.path}: the target {target!r} is in the exclude list")
    candidates = [c for c in table.columns if c not in {target, time_column, *exclude}]
    _, denied = screen_columns(candidates, allow=allow)
    warnings = [
        f"column {c!r} left out: {why} (use --allow to keep it)" for c, why in denied.items()
    ]
    frame = TabularFrame.from_table(
        table,
        target=target,
        positive=positive,
        exclude=[*exclude, *denied],
        time_column=time_column,
    )
    probe = Dataset(
        x=np.zeros((frame.n_rows, 1), dtype=np.float32),
        y=frame.y,
        feature_names=("probe",),
        groups=("probe",),
    )
    probe.check_trainable()
    split = split_rows(frame.y, frame.time, cfg.test_fraction, cfg.seed)
    encoder = TabularEncoder.fit(
        frame,
        split.train,
        min_count=cfg.min_level_count,
        max_levels=cfg.max_levels,
        frequency=cfg.level_frequency,
        rates=cfg.level_rates,
    )
    train_rows = {**frame.numeric, **frame.categorical}
    warnings += leak_warnings(
        {k: v[split.train] for k, v in train_rows.items()}, frame.y[split.train]
    )
    train = Dataset(
        x=encoder.encode_frame(frame, split.train, training=True),
        y=frame.y[split.train],
        feature_names=encoder.feature_names(),
        groups=encoder.groups(),
        time=None if frame.time is None else frame.time[split.train],
    )
    test = Dataset(
        x=encoder.encode_frame(frame, split.test),
        y=frame.y[split.test],
        feature_names=encoder.feature_names(),
        groups=encoder.groups(),
        time=None if frame.time is None else frame.time[split.test],
    )
    dropped = {c: f"after contact: {why}" for c, why in denied.items()}
    dropped.update({c: why for c, why in frame.dropped.items() if c not in denied})
    return train_dataset(
        train,
        test,
        split=split.kind,
        config=cfg,
        kind="tabular",
        encoder=encoder,
        name=name,
        target=target,
        positive=positive,
        excluded=tuple(exclude),
        dropped=dropped,
        warnings=tuple(warnings),
    )


def evaluate_csv_rows(model: TrainedModel, table: CsvTable) -> NDArray[np.float64]:
    """Calibrated probabilities for every row of a CSV table, with the model's encoder."""
    encoder = model.card.encoder
    if encoder is None:
        raise TrainingDataError("this model was trained on CRM activity, not on a CSV export")
    return model.predict(encoder.encode_table(table))
