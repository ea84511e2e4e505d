"""CSV exports to a design matrix: parsing, column typing and categorical encoding.

Any CRM can export leads to CSV, so `leadbridge model train --csv` is the lowest common
denominator for predictive scoring. This module reads the file (stdlib `csv`, any
separator, decimal commas accepted), types every column (numeric when almost every
filled value parses as a number, categorical otherwise), treats form defaults such as
X Education's ``Select`` as missing, drops identifiers (a column whose every value is
distinct teaches nothing), and encodes categoricals with a JSON-serialisable
`TabularEncoder`:

* one-hot indicators for levels seen at least `min_count` times (capped at `max_levels`);
* the level's training frequency;
* for high-cardinality columns, a smoothed conversion rate of the level, computed out of
  fold on the training rows so a row's own label never feeds its feature.

Bad input raises `TrainingDataError` with one line naming the file and the problem.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from leadbridge.scoring.predictive.dataset import TrainingDataError

__all__ = [
    "DEFAULT_MISSING_TOKENS",
    "CategoricalColumn",
    "CsvTable",
    "TabularEncoder",
    "TabularFrame",
    "parse_time",
    "read_csv",
]

DEFAULT_MISSING_TOKENS: tuple[str, ...] = ("", "na", "n/a", "nan", "null", "none", "select")
_ID_NAME = re.compile(r"(^|[\s_\-])(id|number|key|uuid)$", re.IGNORECASE)
csv.field_size_limit(10_000_000)


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV file: header and cells, column-major, untyped."""

    path: str
    columns: tuple[str, ...]
    cells: dict[str, list[str]]

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(self.cells[self.columns[0]]) if self.columns else 0


def read_csv(path: str | Path, *, sep: str = ",", encoding: str = "utf-8-sig") -> CsvTable:
    """Read a CSV export; every failure is a one-line `TrainingDataError`."""
    name = str(path)
    if len(sep) != 1:
        raise TrainingDataError(f"{name}: the separator must be one character, got {sep!r}")
    try:
        with open(path, encoding=encoding, newline="") as handle:
            rows = list(csv.reader(handle, delimiter=sep, strict=True))
    except FileNotFoundError:
        raise TrainingDataError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise TrainingDataError(f"{name}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{name}: not {encoding} text ({exc.reason})") from None
    except csv.Error as exc:
        raise TrainingDataError(f"{name}: unparseable CSV ({exc})") from None
    rows = [row for row in rows if row and any(cell.strip() for cell in row)]
    if not rows:
        raise TrainingDataError(f"{name}: the file is empty")
    header = [cell.strip() for cell in rows[0]]
    while header and header[-1] == "":
        header.pop()
    if len(header) < 2:
        raise TrainingDataError(
            f"{name}: unparseable CSV (header has {len(header)} column; wrong --sep?)"
        )
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise TrainingDataError(f"{name}: duplicate column names {', '.join(dupes)}")
    width = len(header)
    cells: dict[str, list[str]] = {column: [] for column in header}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) > width and not any(cell.strip() for cell in row[width:]):
            row = row[:width]
        if len(row) != width:
            raise TrainingDataError(
                f"{name}: unparseable CSV (row {line} has {len(row)} fields, header has {width})"
            )
        for column, cell in zip(header, row, strict=True):
            cells[column].append(cell.strip())
    if len(rows) < 2:
        raise TrainingDataError(f"{name}: the file has a header but no rows")
    return CsvTable(path=name, columns=tuple(header), cells=cells)


def _to_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        if "," in cell and "." not in cell:
            try:
                return float(cell.replace(",", "."))
            except ValueError:
                return None
        return None


def _float_array(cells: Sequence[str | None]) -> NDArray[np.float64]:
    values = [None if c is None else _to_float(c) for c in cells]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def parse_time(cell: str) -> float | None:
    """Seconds since the epoch from an ISO date/datetime or a number; None if unparseable."""
    text = cell.strip()
    if not text:
        return None
    number = _to_float(text)
    if number is not None and math.isfinite(number):
        return number / 1000.0 if number > 1e11 else number
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class TabularFrame:
    """Typed columns, the binary target and the optional row times, before encoding."""

    numeric: dict[str, NDArray[np.float64]]
    categorical: dict[str, NDArray[np.object_]]
    y: NDArray[np.int8]
    time: NDArray[np.float64] | None
    dropped: dict[str, str]

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    @classmethod
    def from_table(
        cls,
        table: CsvTable,
        *,
        target: str,
        positive: str,
        exclude: Sequence[str] = (),
        time_column: str | None = None,
        missing_tokens: Sequence[str] = DEFAULT_MISSING_TOKENS,
    ) -> TabularFrame:
        """Type the columns of `table`; `exclude` and `time_column` are not features."""
        where = table.path
        if target not in table.cells:
            raise TrainingDataError(f"{where}: target column {target!r} not found")
        if target in exclude:
            raise TrainingDataError(f"{where}: the target {target!r} is in the exclude list")
        unknown = [c for c in exclude if c not in table.cells]
        if unknown:
            raise TrainingDataError(f"{where}: excluded column(s) not found: {', '.join(unknown)}")
        if time_column is not None and time_column not in table.cells:
            raise TrainingDataError(f"{where}: time column {time_column!r} not found")
        raw_target = table.cells[target]
        if not any(cell.strip() for cell in raw_target):
            raise TrainingDataError(f"{where}: target column {target!r} is empty")
        wanted = positive.strip().casefold()
        y = np.fromiter((cell.casefold() == wanted for cell in raw_target), dtype=np.int8)
        if not y.any():
            seen = ", ".join(sorted({c for c in raw_target if c})[:5])
            raise TrainingDataError(
                f"{where}: no row has {target}={positive!r} (values seen: {seen})"
            )
        time = None
        if time_column is not None:
            parsed = [parse_time(cell) for cell in table.cells[time_column]]
            bad = next((i for i, v in enumerate(parsed) if v is None), None)
            if bad is not None:
                value = table.cells[time_column][bad]
                raise TrainingDataError(
                    f"{where}: time column {time_column!r}, row {bad + 2}: {value!r} is not a date"
                )
            time = np.asarray(parsed, dtype=np.float64)
        missing = {token.casefold() for token in missing_tokens}
        skip = {target, *exclude, *([time_column] if time_column else [])}
        numeric: dict[str, NDArray[np.float64]] = {}
        categorical: dict[str, NDArray[np.object_]] = {}
        dropped: dict[str, str] = {c: "excluded" for c in exclude}
        for column in table.columns:
            if column in skip:
                continue
            cells = [None if c.casefold() in missing else c for c in table.cells[column]]
            filled = [c for c in cells if c is not None]
            if not filled:
                dropped[column] = "empty"
                continue
            numbers = [_to_float(c) for c in filled]
            parsed_share = sum(v is not None for v in numbers) / len(filled)
            distinct = len(set(filled))
            if parsed_share >= 0.95:
                values = _float_array(cells)
                values[~np.isfinite(values)] = np.nan
                integral = bool(np.all(np.mod(values[~np.isnan(values)], 1.0) == 0.0))
                if distinct == len(filled) and integral and _ID_NAME.search(column):
                    dropped[column] = "identifier"
                    continue
                if distinct == 1:
                    dropped[column] = "constant"
                    continue
                numeric[column] = values
                continue
            if distinct == 1 and len(filled) == len(cells):
                dropped[column] = "constant"
                continue
            if distinct > 50 and distinct >= 0.9 * len(filled):
                dropped[column] = "identifier"
                continue
            categorical[column] = np.array(cells, dtype=object)
        return cls(numeric=numeric, categorical=categorical, y=y, time=time, dropped=dropped)


class CategoricalColumn(BaseModel):
    """How one categorical column is encoded: indicators, frequency and level rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    levels: tuple[str, ...]
    frequencies: dict[str, float]
    frequencies_used: bool = True
    rates: dict[str, float] | None = None
    prior: float = 0.0
    smoothing: float = 20.0


MISSING_LEVEL = "(missing)"


class TabularEncoder(BaseModel):
    """A fitted, JSON-serialisable CSV encoder: the same code encodes training and live rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    numeric: tuple[str, ...]
    categorical: tuple[CategoricalColumn, ...]
    missing_tokens: tuple[str, ...] = DEFAULT_MISSING_TOKENS

    @classmethod
    def fit(
        cls,
        frame: TabularFrame,
        rows: NDArray[np.int64],
        *,
        min_count: int = 10,
        max_levels: int = 30,
        smoothing: float = 20.0,
        frequency: bool = True,
        rates: bool = True,
    ) -> TabularEncoder:
        """Learn levels, frequencies and level rates from the training `rows` only."""
        y = frame.y[rows].astype(np.float64)
        prior = float(y.mean())
        columns: list[CategoricalColumn] = []
        for name, values in frame.categorical.items():
            tokens = [MISSING_LEVEL if v is None else str(v) for v in values[rows]]
            counts = Counter(tokens)
            total = float(len(tokens))
            levels = [lvl for lvl, n in counts.most_common(max_levels) if n >= min_count]
            level_rates = None
            if rates and len(counts) > max_levels:
                sums: dict[str, float] = {}
                for token, label in zip(tokens, y, strict=True):
                    sums[token] = sums.get(token, 0.0) + float(label)
                level_rates = {
                    lvl: (sums.get(lvl, 0.0) + prior * smoothing) / (n + smoothing)
                    for lvl, n in counts.items()
                }
            columns.append(
                CategoricalColumn(
                    name=name,
                    levels=tuple(levels),
                    frequencies={lvl: n / total for lvl, n in counts.items()},
                    frequencies_used=frequency,
                    rates=level_rates,
                    prior=prior,
                    smoothing=smoothing,
                )
            )
        return cls(numeric=tuple(frame.numeric), categorical=tuple(columns))

    def feature_names(self) -> tuple[str, ...]:
        """Names of the encoded features, in matrix order."""
        return tuple(name for name, _ in self._layout())

    def groups(self) -> tuple[str, ...]:
        """Source column of each encoded feature, in matrix order."""
        return tuple(group for _, group in self._layout())

    def _layout(self) -> list[tuple[str, str]]:
        layout = [(name, name) for name in self.numeric]
        for col in self.categorical:
            layout += [(f"{col.name}={lvl}", col.name) for lvl in col.levels]
            if col.frequencies_used:
                layout.append((f"{col.name}#frequency", col.name))
            if col.rates is not None:
                layout.append((f"{col.name}#rate", col.name))
        return layout

    def transform(
        self,
        numeric: dict[str, NDArray[np.float64]],
        categorical: dict[str, NDArray[np.object_]],
        *,
        out_of_fold_y: NDArray[np.int8] | None = None,
        folds: int = 5,
        seed: int = 42,
    ) -> NDArray[np.float32]:
        """Encode columns into a float32 matrix (NaN = missing).

        With `out_of_fold_y` (the training labels of these same rows), level rates are
        computed out of fold so no row sees its own label.
        """
        lengths = {v.shape[0] for v in (*numeric.values(), *categorical.values())}
        n = lengths.pop() if lengths else 0
        width = len(self._layout())
        out = np.full((n, width), np.nan, dtype=np.float32)
        j = 0
        for name in self.numeric:
            out[:, j] = numeric[name]
            j += 1
        fold = None
        if out_of_fold_y is not None:
            fold = np.random.default_rng(seed).integers(0, folds, size=n)
        for col in self.categorical:
            tokens = [MISSING_LEVEL if v is None else str(v) for v in categorical[col.name]]
            index = {lvl: k for k, lvl in enumerate(col.levels)}
            codes = np.fromiter((index.get(t, -1) for t in tokens), dtype=np.int64, count=n)
            block = np.zeros((n, len(col.levels)), dtype=np.float32)
            hit = codes >= 0
            block[np.flatnonzero(hit), codes[hit]] = 1.0
            out[:, j : j + len(col.levels)] = block
            j += len(col.levels)
            if col.frequencies_used:
                freq = col.frequencies
                out[:, j] = np.fromiter(
                    (freq.get(t, 0.0) for t in tokens), dtype=np.float64, count=n
                )
                j += 1
            if col.rates is not None:
                if out_of_fold_y is not None and fold is not None:
                    out[:, j] = _out_of_fold_rates(tokens, out_of_fold_y, fold, folds, col)
                else:
                    rates = col.rates
                    out[:, j] = np.fromiter(
                        (rates.get(t, col.prior) for t in tokens), dtype=np.float64, count=n
                    )
                j += 1
        return out

    def encode_frame(
        self, frame: TabularFrame, rows: NDArray[np.int64], *, training: bool = False
    ) -> NDArray[np.float32]:
        """Encode the given rows of a frame (`training` = out-of-fold level rates)."""
        numeric = {name: frame.numeric[name][rows] for name in self.numeric}
        categorical = {col.name: frame.categorical[col.name][rows] for col in self.categorical}
        return self.transform(
            numeric, categorical, out_of_fold_y=frame.y[rows] if training else None
        )

    def encode_table(self, table: CsvTable) -> NDArray[np.float32]:
        """Encode every row of a CSV table with the same typing rules as training."""
        missing = {token.casefold() for token in self.missing_tokens}
        numeric: dict[str, NDArray[np.float64]] = {}
        categorical: dict[str, NDArray[np.object_]] = {}
        needed = [*self.numeric, *(c.name for c in self.categorical)]
        absent = [c for c in needed if c not in table.cells]
        if absent:
            raise TrainingDataError(
                f"{table.path}: column(s) the model needs are missing: {', '.join(absent)}"
            )
        for name in self.numeric:
            numeric[name] = _float_array(
                [None if c.casefold() in missing else c for c in table.cells[name]]
            )
        for col in self.categorical:
            categorical[col.name] = np.array(
                [None if c.casefold() in missing else c for c in table.cells[col.name]],
                dtype=object,
            )
        return self.transform(numeric, categorical)


def _out_of_fold_rates(
    tokens: list[str],
    y: NDArray[np.int8],
    fold: NDArray[np.int64],
    folds: int,
    col: CategoricalColumn,
) -> NDArray[np.float64]:
    smoothing = col.smoothing
    out = np.empty(len(tokens), dtype=np.float64)
    labels = y.astype(np.float64)
    for k in range(folds):
        inside = fold != k
        prior = float(labels[inside].mean()) if inside.any() else col.prior
        sums: dict[str, float] = {}
        counts: Counter[str] = Counter()
        for token, label, keep in zip(tokens, labels, inside, strict=True):
            if keep:
                sums[token] = sums.get(token, 0.0) + float(label)
                counts[token] += 1
        for i in np.flatnonzero(~inside):
            token = tokens[i]
            out[i] = (sums.get(token, 0.0) + prior * smoothing) / (counts[token] + smoothing)
    return out
