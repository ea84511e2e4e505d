"""CRM-to-CRM migration: plan (a per-record diff and a call budget), apply, resume.

`Migration.plan` reads both CRMs once, works out for every source record and activity
what the target must receive (create, update, nothing, or cannot: an invalid value),
stages it in `MigrationState`, and estimates the API calls `apply` will spend on each
side. `Migration.apply` first creates the custom fields the target lacks (the external
id among them), then writes the staged rows in vendor-sized batches: records as upserts
on the external id ``"<source crm>:<id>"`` (matched records as updates by id), then
activities with their links remapped through the id map, owners through the owner
table. Each acknowledged batch and its target ids are committed together, so `apply`
can be killed at any point and run again: it resumes where it stopped, and the batch in
flight is re-sent as an upsert, which cannot duplicate. A *sample* apply moves only the
rows staged as sample (about `sample_fraction` of the records, chosen by a stable hash
of the source id, with their activities) so a person can review before the full move.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadbridge.core.errors import MappingError, SyncError
from leadbridge.core.models import FieldSpec, ScoreWrite
from leadbridge.mappings.fields import ActivityRule, CompiledRule, PairMapping, check_mapping
from leadbridge.mappings.transforms import make_codec
from leadbridge.sync.migrationstate import MigrationState
from leadbridge.sync.records import ActivityRecord, ActivitySource, RawRecord, RecordStore

__all__ = ["ApplyReport", "Migration", "MigrationPlan", "RecordDiff", "activity_values"]

RECORD = "record"
SETUP_PER_OBJECT = 3
"""Field-level security after creating fields: permission-set lookup, grants lookup, insert."""


@dataclass(frozen=True)
class RecordDiff:
    """What `apply` will do to one target record."""

    source_id: str
    action: str
    target_id: str | None
    changes: dict[str, Any]


@dataclass
class MigrationPlan:
    """The plan's summary: counts per kind and action, fields to create, call estimates."""

    counts: dict[str, dict[str, int]]
    to_create: dict[str, list[str]]
    estimate: dict[str, dict[str, int]]
    sample_estimate: dict[str, dict[str, int]]
    spent: dict[str, dict[str, int]]
    diffs: list[RecordDiff] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "to_create": self.to_create,
            "estimate": self.estimate,
            "sample_estimate": self.sample_estimate,
            "spent": self.spent,
        }


@dataclass
class ApplyReport:
    """What one `apply` run wrote, what failed, and the calls it spent."""

    written: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    spent: dict[str, dict[str, int]] = field(default_factory=dict)
    complete: bool = False


def in_sample(source_id: str, fraction: float) -> bool:
    """A stable pseudo-random choice of about `fraction` of the ids."""
    digest = hashlib.sha256(source_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def activity_values(
    rule: ActivityRule, record: ActivityRecord, owners: Mapping[str, str]
) -> dict[str, Any]:
    """The target values of one activity (its link filled in later), invalid ones left out."""
    values: dict[str, Any] = dict(rule.constants)
    for target, source in rule.fields.items():
        raw = record.fields.get(source)
        transform = rule.transforms.get(target)
        if transform == "owner":
            value: Any = owners.get(str(raw)) if raw else None
        elif transform is not None:
            try:
                codec = make_codec(transform)
                value = codec.render(codec.parse(raw))
            except MappingError:
                value = None
        else:
            value = " ".join(str(raw).split()) if raw not in (None, "") else None
        limit = rule.lengths.get(target)
        if isinstance(value, str) and limit is not None:
            value = value[:limit]
        if value is not None:
            values[target] = value
    return values


def _calls(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("read", "write", "setup")}


class Migration:
    """Moves records (and activities) from `source` to `target` under a mapping (a -> b)."""

    def __init__(
        self,
        source: RecordStore,
        target: RecordStore,
        mapping: PairMapping,
        state: MigrationState,
        *,
        target_object: Callable[[str], RecordStore] | None = None,
        activities: ActivitySource | None = None,
        owners: Mapping[str, str] | None = None,
        sample_fraction: float = 0.1,
        diff_limit: int = 1000,
    ) -> None:
        self.source, self.target = source, target
        self.mapping = mapping
        self.state = state
        self.owners = dict(owners or {})
        self.rules = [r for r in mapping.compile(self.owners) if r.writes_to("b")]
        self.target_object = target_object
        self.activities = activities if mapping.activity else None
        self.sample_fraction = sample_fraction
        self.diff_limit = diff_limit
        self.external = mapping.b.external_id

    def _objects(self) -> dict[str, RecordStore]:
        if self.activities is None or self.target_object is None:
            return {}
        return {rule.object: self.target_object(rule.object) for rule in self.mapping.activity}

    # -- plan -------------------------------------------------------------------------

    def plan(self) -> MigrationPlan:
        """Read both sides, stage every row, estimate `apply`'s calls. Nothing is written."""
        before = {"source": self.source.calls(), "target": self.target.calls()}
        catalog = self.target.describe()
        report = check_mapping(self.mapping, self.source.describe(), catalog, create=("b",))
        problems = [p for p in report.problems if p.side == "b" or p.kind != "read_only"]
        report.problems = problems
        report.raise_for_problems()
        to_create: dict[str, list[dict[str, Any]]] = {
            self.target.object_name: [s.model_dump() for side, s in report.to_create if side == "b"]
        }
        objects = self._objects()
        for name, store in objects.items():
            if self.external not in store.describe():
                spec = FieldSpec(name=self.external, label="leadbridge id", type="string")
                to_create.setdefault(name, []).append(spec.model_dump())
        rows, diffs = self._plan_records([f for f in self.mapping.fields_of("b") if f in catalog])
        sampled = {r["source_id"] for r in rows if r["sample"]}
        valid = {r["source_id"] for r in rows if r["action"] != "invalid"}
        rows.extend(self._plan_activities(objects, sampled, valid))
        self.state.stage(rows)
        self.state.put("to_create", to_create)
        self.state.put("setup_done", False)
        counts = self.state.counts()
        plan = MigrationPlan(
            counts=counts,
            to_create={k: [s["name"] for s in v] for k, v in to_create.items() if v},
            estimate=self._estimate(rows, to_create, sample_only=False),
            sample_estimate=self._estimate(rows, to_create, sample_only=True),
            spent={
                "source": _calls(before["source"], self.source.calls()),
                "target": _calls(before["target"], self.target.calls()),
            },
            diffs=diffs,
        )
        self.state.put("plan", plan.to_json())
        return plan

    def _plan_records(self, fields_b: list[str]) -> tuple[list[dict[str, Any]], list[RecordDiff]]:
        by_key: dict[str, RawRecord] = {}
        by_match: dict[str, RawRecord] = {}
        match = next((r for r in self.rules if r.name == self.mapping.records.match), None)
        for page in self.target.scan(fields_b, None):
            for record in page:
                key = record.fields.get(self.external)
                if isinstance(key, str) and key:
                    by_key[key] = record
                if match is not None:
                    value = record.fields.get(match.path("b"))
                    if isinstance(value, str) and value:
                        by_match.setdefault(value.strip().lower(), record)
        rows: list[dict[str, Any]] = []
        diffs: list[RecordDiff] = []
        prefix = f"{self.source.crm}:"
        for page in self.source.scan(self.mapping.fields_of("a"), None):
            for record in page:
                key = prefix + record.id
                existing = by_key.get(key) or self._matched(match, record, by_match)
                row = self._record_row(record, key, existing)
                rows.append(row)
                if row["action"] != "skip" and len(diffs) < self.diff_limit:
                    diffs.append(
                        RecordDiff(record.id, row["action"], row.get("target_id"), row["changes"])
                    )
        return rows, diffs

    @staticmethod
    def _matched(
        match: CompiledRule | None, record: RawRecord, by_match: Mapping[str, RawRecord]
    ) -> RawRecord | None:
        if match is None:
            return None
        try:
            value = match.read("a", record.fields)
        except MappingError:
            return None
        return by_match.get(str(match.codec_b.render(value)).lower()) if value is not None else None

    def _record_row(
        self, record: RawRecord, key: str, existing: RawRecord | None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        invalid: list[str] = []
        for rule in self.rules:
            try:
                value = rule.read("a", record.fields)
            except MappingError:
                invalid.append(rule.name)
                value = None
            if value is None:
                value = rule.default("b")
            current: Any = None
            if existing is not None:
                try:
                    current = rule.read("b", existing.fields)
                except MappingError:
                    current = "<invalid>"
                if rule.same(value, current):
                    continue
            elif value is None:
                continue
            payload[rule.path("b")] = rule.codec_b.render(value)
            changes[rule.name] = [current, value]
        if existing is None:
            action = "create"
        elif payload or existing.fields.get(self.external) != key:
            action = "update"
            payload[self.external] = key
        else:
            action = "skip"
        if invalid:
            changes["_invalid"] = invalid
        return {
            "kind": RECORD,
            "source_id": record.id,
            "key": key,
            "action": action,
            "target_object": self.target.object_name,
            "target_id": existing.id if existing is not None else None,
            "payload": payload,
            "changes": changes,
            "sample": in_sample(record.id, self.sample_fraction),
        }

    def _plan_activities(
        self, objects: Mapping[str, RecordStore], sampled: set[str], valid: set[str]
    ) -> list[dict[str, Any]]:
        if self.activities is None or not objects:
            return []
        rules = {rule.kind: rule for rule in self.mapping.activity}
        existing: set[str] = set()
        for store in objects.values():
            if self.external in store.describe():
                for page in store.scan([self.external], None):
                    existing.update(str(r.fields.get(self.external)) for r in page)
        rows: list[dict[str, Any]] = []
        prefix = f"{self.source.crm}:"
        for batch in self.activities.scan_activities(list(rules)):
            for activity in batch:
                rule = rules[activity.kind]
                linked = next((i for i in activity.record_ids if i in valid), None)
                key = prefix + activity.id
                action = "skip" if key in existing else "create" if linked else "invalid"
                rows.append(
                    {
                        "kind": f"activity:{rule.object}",
                        "source_id": activity.id,
                        "key": key,
                        "action": action,
                        "target_object": rule.object,
                        "link_source": linked,
                        "changes": {},
                        "payload": activity_values(rule, activity, self.owners),
                        "sample": linked in sampled,
                    }
                )
        return rows

    def _estimate(
        self,
        rows: Iterable[Mapping[str, Any]],
        to_create: Mapping[str, Sequence[Any]],
        *,
        sample_only: bool,
    ) -> dict[str, dict[str, int]]:
        per: dict[tuple[str, str], int] = {}
        for row in rows:
            if row["action"] in ("create", "update") and (row["sample"] or not sample_only):
                per[(row["kind"], row["action"])] = per.get((row["kind"], row["action"]), 0) + 1
        writes = sum(math.ceil(n / self.target.write_batch) for n in per.values())
        setup = sum(len(specs) + SETUP_PER_OBJECT for specs in to_create.values() if specs)
        return {
            "source": {"read": 0, "write": 0, "setup": 0},
            "target": {"read": 0, "write": writes, "setup": setup},
        }

    # -- apply ------------------------------------------------------------------------

    def apply(self, *, sample_only: bool = False) -> ApplyReport:
        """Write what the plan staged (planning first if needed); resumable at any point."""
        if self.state.get("plan") is None:
            self.plan()
        before = {"source": self.source.calls(), "target": self.target.calls()}
        objects = self._objects()
        report = ApplyReport()
        if not self.state.get("setup_done"):
            self._setup(objects)
        self._apply_records(report, sample_only)
        links = self.state.id_map(RECORD)
        for name, store in objects.items():
            self._apply_activities(f"activity:{name}", store, links, report, sample_only)
        counts = self.state.counts()
        report.complete = all(
            bucket.get("done", 0) == bucket.get("create", 0) + bucket.get("update", 0)
            for bucket in counts.values()
        )
        report.spent = {
            "source": _calls(before["source"], self.source.calls()),
            "target": _calls(before["target"], self.target.calls()),
        }
        return report

    def _setup(self, objects: Mapping[str, RecordStore]) -> None:
        to_create = self.state.get("to_create") or {}
        stores = {self.target.object_name: self.target, **objects}
        for name, specs in to_create.items():
            if specs and name in stores:
                stores[name].create_fields(
                    [FieldSpec.model_validate(s) for s in specs], unique=frozenset({self.external})
                )
        self.state.put("setup_done", True)

    def _apply_records(self, report: ApplyReport, sample_only: bool) -> None:
        for action in ("create", "update"):
            for batch in self.state.pending(
                [RECORD], sample_only=sample_only, action=action, size=self.target.write_batch
            ):
                if action == "create":
                    rows = [
                        ScoreWrite(source_id=i.key, lead_key=i.key, values=i.payload) for i in batch
                    ]
                    result = self.target.upsert(self.external, rows)
                    written = {i.source_id: result.ids[i.key] for i in batch if i.key in result.ids}
                    failed = {
                        i.source_id: result.failed.get(i.key, "not confirmed")
                        for i in batch
                        if i.key not in result.ids
                    }
                else:
                    rows = [
                        ScoreWrite(source_id=str(i.target_id), lead_key=i.key, values=i.payload)
                        for i in batch
                    ]
                    outcome = self.target.update(rows)
                    done = set(outcome.succeeded)
                    written = {i.source_id: str(i.target_id) for i in batch if i.target_id in done}
                    failed = {
                        i.source_id: outcome.failed.get(str(i.target_id), "not confirmed")
                        for i in batch
                        if i.target_id not in done
                    }
                self.state.mark(RECORD, written, failed)
                report.written[RECORD] = report.written.get(RECORD, 0) + len(written)
                report.failed[RECORD] = report.failed.get(RECORD, 0) + len(failed)

    def _apply_activities(
        self,
        kind: str,
        store: RecordStore,
        links: Mapping[str, str],
        report: ApplyReport,
        sample_only: bool,
    ) -> None:
        link_field = next(r.link for r in self.mapping.activity if f"activity:{r.object}" == kind)
        for batch in self.state.pending(
            [kind], sample_only=sample_only, action="create", size=store.write_batch
        ):
            ready = [i for i in batch if i.link_source in links]
            waiting = {
                i.source_id: "linked record not migrated yet" for i in batch if i not in ready
            }
            rows = [
                ScoreWrite(
                    source_id=i.key,
                    lead_key=i.key,
                    values={**i.payload, link_field: links[str(i.link_source)]},
                )
                for i in ready
            ]
            result = store.upsert(self.external, rows) if rows else None
            written = {
                i.source_id: result.ids[i.key] for i in ready if result and i.key in result.ids
            }
            failed = {
                i.source_id: (result.failed.get(i.key, "not confirmed") if result else "")
                for i in ready
                if not result or i.key not in result.ids
            }
            self.state.mark(kind, written, failed)
            report.written[kind] = report.written.get(kind, 0) + len(written)
            report.failed[kind] = report.failed.get(kind, 0) + len(failed) + len(waiting)


def require_plan(state: MigrationState) -> dict[str, Any]:
    """The staged plan's summary, or a one-line error telling the user to plan first."""
    plan = state.get("plan")
    if plan is None:
        raise SyncError("no migration plan staged yet: run 'leadbridge migrate plan' first")
    return dict(plan)
