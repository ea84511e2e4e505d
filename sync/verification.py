"""Migration verification: counts and per-field checksums read live from both CRMs.

`verify` trusts neither the plan nor the state store's bookkeeping: it reads every
source record and every target record again. For each mapped field it hashes, in key
order, what the target *should* hold (the source value through both codecs, or the
default) and what it *does* hold, keyed by the external id; equal digests mean every
value arrived. It also counts target records per external id (a duplicate would show
as a count above one) and per matching value, and does the same for activities: the
expected target values are rebuilt from the source and the id map.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadbridge.core.errors import MappingError
from leadbridge.mappings.fields import PairMapping
from leadbridge.mappings.transforms import Canonical
from leadbridge.sync.migration import activity_values
from leadbridge.sync.pairstate import value_hash
from leadbridge.sync.records import ActivitySource, RecordStore

__all__ = ["FieldCheck", "VerifyReport", "verify"]


@dataclass(frozen=True)
class FieldCheck:
    """One field's checksums on both sides and how many records differ."""

    field: str
    source: str
    target: str
    mismatched: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass
class VerifyReport:
    """Counts, duplicates and checksums; `ok` when everything matches."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    fields: list[FieldCheck] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        counts_equal = all(c["source"] == c["target"] for c in self.counts.values())
        return (
            counts_equal and not any(self.duplicates.values()) and all(f.equal for f in self.fields)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": self.counts,
            "duplicates": self.duplicates,
            "fields": [
                {
                    "field": f.field,
                    "source": f.source,
                    "target": f.target,
                    "equal": f.equal,
                    "mismatched": f.mismatched,
                }
                for f in self.fields
            ],
            "examples": self.examples,
        }


def _digest(pairs: Mapping[str, str]) -> str:
    sha = hashlib.sha256()
    for key in sorted(pairs):
        sha.update(f"{key}\x1f{pairs[key]}\x1e".encode())
    return sha.hexdigest()[:32]


def verify(
    source: RecordStore,
    target: RecordStore,
    mapping: PairMapping,
    *,
    owners: Mapping[str, str] | None = None,
    id_map: Mapping[str, str] | None = None,
    activities: ActivitySource | None = None,
    objects: Mapping[str, RecordStore] | None = None,
) -> VerifyReport:
    """Compare source and target live; `id_map` (source -> target id) checks activity links."""
    report = VerifyReport()
    rules = [r for r in mapping.compile(owners) if r.writes_to("b")]
    external = mapping.b.external_id
    prefix = f"{source.crm}:"
    expected: dict[str, dict[str, str]] = {r.name: {} for r in rules}
    for page in source.scan(mapping.fields_of("a"), None):
        for record in page:
            key = prefix + record.id
            for rule in rules:
                try:
                    value: Canonical = rule.read("a", record.fields)
                except MappingError:
                    value = None
                if value is None:
                    value = rule.default("b")
                projected = rule.codec_b.roundtrip(value) if value is not None else None
                expected[rule.name][key] = value_hash(projected)
    keys = set(next(iter(expected.values()), {}))
    actual: dict[str, dict[str, str]] = {r.name: {} for r in rules}
    seen: Counter[str] = Counter()
    matches: Counter[str] = Counter()
    match = mapping.records.match
    total = 0
    for page in target.scan(mapping.fields_of("b"), None):
        for record in page:
            total += 1
            key = str(record.fields.get(external) or "")
            if match is not None:
                raw = record.fields.get(mapping.rule(match).b)
                if isinstance(raw, str) and raw.strip():
                    matches[raw.strip().lower()] += 1
            if key not in keys:
                continue
            seen[key] += 1
            for rule in rules:
                try:
                    actual[rule.name][key] = value_hash(rule.read("b", record.fields))
                except MappingError:
                    actual[rule.name][key] = "invalid"
    report.counts["records"] = {"source": len(keys), "target": len(seen), "target_total": total}
    report.duplicates["external_id"] = sum(n - 1 for n in seen.values() if n > 1)
    report.duplicates["match_field"] = sum(n - 1 for n in matches.values() if n > 1)
    for rule in rules:
        want, have = expected[rule.name], actual[rule.name]
        wrong = [k for k in want if have.get(k) != want[k]]
        report.fields.append(FieldCheck(rule.name, _digest(want), _digest(have), len(wrong)))
        if wrong:
            report.examples[rule.name] = wrong[:5]
    if activities is not None and objects:
        _verify_activities(report, mapping, activities, objects, owners or {}, id_map or {}, prefix)
    return report


def _verify_activities(
    report: VerifyReport,
    mapping: PairMapping,
    activities: ActivitySource,
    objects: Mapping[str, RecordStore],
    owners: Mapping[str, str],
    id_map: Mapping[str, str],
    prefix: str,
) -> None:
    rules = {r.kind: r for r in mapping.activity}
    external = mapping.b.external_id
    want: dict[str, dict[str, str]] = {}
    fields_of: dict[str, list[str]] = {}
    for batch in activities.scan_activities(list(rules)):
        for activity in batch:
            rule = rules[activity.kind]
            linked = next((id_map[i] for i in activity.record_ids if i in id_map), None)
            if linked is None:
                continue
            values = {**activity_values(rule, activity, owners), rule.link: linked}
            want.setdefault(rule.object, {})[prefix + activity.id] = value_hash(
                {k: values.get(k) for k in sorted(values)}
            )
            fields_of.setdefault(rule.object, sorted(values))
    for name, store in objects.items():
        expected = want.get(name, {})
        columns = sorted(
            {
                c
                for r in mapping.activity
                if r.object == name
                for c in [*r.fields, *r.constants, r.link]
            }
        )
        have: dict[str, str] = {}
        seen: Counter[str] = Counter()
        for page in store.scan([external, *columns], None):
            for record in page:
                key = str(record.fields.get(external) or "")
                if key in expected:
                    seen[key] += 1
                    present = {c: _plain(record.fields.get(c)) for c in columns}
                    have[key] = value_hash(
                        {k: v for k, v in sorted(present.items()) if v is not None}
                    )
        normalised = {k: v for k, v in expected.items()}
        report.counts[f"activity:{name}"] = {"source": len(expected), "target": len(seen)}
        report.duplicates[f"activity:{name}"] = sum(n - 1 for n in seen.values() if n > 1)
        wrong = [k for k in normalised if have.get(k) != normalised[k]]
        report.fields.append(
            FieldCheck(f"activity:{name}", _digest(normalised), _digest(have), len(wrong))
        )
        if wrong:
            report.examples[f"activity:{name}"] = wrong[:5]


def _plain(value: Any) -> Any:
    """A target value as the activity payload wrote it (datetimes normalised to ms UTC)."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        try:
            from leadbridge.mappings.transforms import make_codec

            return make_codec("datetime").parse(value)
        except MappingError:
            return value
    return value
