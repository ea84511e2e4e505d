"""Column-oriented leads and events: the input of the vectorized scorer.

The batch path never loops over events in Python: it needs each attribute as one numpy
array. `columns_from_items` converts `Lead`/`Activity` objects (what connectors give the
sync engine); large offline jobs and the benchmark build the arrays directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from leadbridge.core.models import Activity, Lead
from leadbridge.scoring.rules.compiled import CompiledConfig
from leadbridge.scoring.rules.normalize import as_number, lead_raw_value, text_of

__all__ = ["EventColumns", "LeadColumns", "columns_from_items", "needed_fields"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class EventColumns:
    """Events as parallel arrays; `lead` indexes the lead columns, `kind` indexes `kinds`.

    `at_us` is epoch microseconds, `value` NaN where the activity carries none.
    """

    lead: IntArray
    kind: IntArray
    kinds: tuple[str, ...]
    at_us: IntArray
    count: IntArray
    value: FloatArray

    def __len__(self) -> int:
        return int(self.lead.shape[0])


@dataclass(frozen=True)
class LeadColumns:
    """The lead attributes the fit criteria read.

    `text[field]` is (codes, vocabulary): code -1 means unknown, otherwise an index into
    the vocabulary of raw texts. `numbers[field]` is NaN where unknown or not numeric;
    `present[field]` says whether the attribute is known at all.
    """

    size: int
    text: Mapping[str, tuple[IntArray, Sequence[str]]]
    numbers: Mapping[str, FloatArray]
    present: Mapping[str, BoolArray]


def needed_fields(compiled: CompiledConfig) -> tuple[set[str], set[str], set[str]]:
    """(text, number, presence) fields the config's criteria read."""
    text: set[str] = set()
    numbers: set[str] = set()
    present: set[str] = set()
    for crit in compiled.criteria:
        if crit.mode in ("any_of", "contains"):
            text.add(crit.field)
        elif crit.mode == "present":
            present.add(crit.field)
        else:
            numbers.add(crit.field)
            if crit.ratio_to is not None:
                numbers.add(crit.ratio_to)
    return text, numbers, present


def columns_from_items(
    compiled: CompiledConfig,
    items: Sequence[tuple[Lead, Sequence[Activity]]],
    as_of_us: int,
) -> tuple[LeadColumns, EventColumns]:
    """Convert objects to columns (one pass; the scoring itself is then vectorized)."""
    text_fields, number_fields, present_fields = needed_fields(compiled)
    codes: dict[str, list[int]] = {f: [] for f in text_fields}
    vocab: dict[str, dict[str, int]] = {f: {} for f in text_fields}
    numbers: dict[str, list[float]] = {f: [] for f in number_fields}
    present: dict[str, list[bool]] = {f: [] for f in present_fields}
    wants_facts = bool(compiled.config.fit.activity_facts)

    for lead, activities in items:
        facts = compiled.facts(activities, as_of_us) if wants_facts else None
        for name in text_fields:
            text = text_of(lead_raw_value(lead, name, facts))
            if text is None:
                codes[name].append(-1)
            else:
                table = vocab[name]
                codes[name].append(table.setdefault(text, len(table)))
        for name in number_fields:
            number = as_number(lead_raw_value(lead, name, facts))
            numbers[name].append(math.nan if number is None else number)
        for name in present_fields:
            present[name].append(lead_raw_value(lead, name, facts) is not None)

    # comprehensions over the flattened activities: about twice as fast as appends
    flat = [activity for _, activities in items for activity in activities]
    kind_codes: dict[str, int] = {}
    nan = math.nan
    leads = LeadColumns(
        size=len(items),
        text={f: (np.array(codes[f], dtype=np.int64), tuple(vocab[f])) for f in text_fields},
        numbers={f: np.array(numbers[f], dtype=np.float64) for f in number_fields},
        present={f: np.array(present[f], dtype=np.bool_) for f in present_fields},
    )
    kind = np.array([kind_codes.setdefault(a.kind, len(kind_codes)) for a in flat], np.int64)
    events = EventColumns(
        lead=np.repeat(
            np.arange(len(items), dtype=np.int64),
            np.array([len(activities) for _, activities in items], dtype=np.int64),
        ),
        kind=kind,
        kinds=tuple(kind_codes),
        at_us=np.array([(a.occurred_at - _EPOCH) // _ONE_US for a in flat], dtype=np.int64),
        count=np.array([a.count for a in flat], dtype=np.int64),
        value=np.array([nan if a.value is None else a.value for a in flat], dtype=np.float64),
    )
    return leads, events
