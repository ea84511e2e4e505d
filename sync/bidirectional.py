"""Two-way sync between any two record stores, one cycle at a time.

A cycle reads what changed on each side since its cursor (minus an overlap, since search
indexes lag), then:

1. ends pairs whose record was deleted or merged away on one side, propagating the
   delete or the merge to the other side when the mapping says so (a tombstone stops
   the echo of our own delete from coming back as news);
2. pairs up new records: by the other side's id when the record carries one in its
   external-id field (a create we made before a crash), else by the mapping's ``match``
   field (e-mail), else creates the record on the other side with an *upsert on the
   external id* ``"<crm>:<id>"``, so a create re-sent after a crash cannot duplicate;
3. decides every mapped field of every changed pair (`policies.decide`), applies queued
   manual overrides, and writes each side in batches;
4. remembers, per pair and field, the values now on each side and the values leadbridge
   wrote (hashed), logs conflicts, and only then moves the cursors.

A value leadbridge wrote reads back as unchanged, so after any conflict the next cycles
write nothing (convergence); a cycle killed midway redoes its reads and finds the values
it already wrote equal on both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.core.errors import MappingError
from leadbridge.core.models import ScoreWrite
from leadbridge.mappings.fields import (
    SIDES,
    CompiledRule,
    MappingReport,
    PairMapping,
    Side,
    check_mapping,
)
from leadbridge.mappings.transforms import Canonical
from leadbridge.sync.cyclereport import CycleReport
from leadbridge.sync.linking import Linker, Pair
from leadbridge.sync.pairstate import FieldState, PairState, value_hash
from leadbridge.sync.policies import Decision, decide
from leadbridge.sync.records import RawRecord, RecordStore

__all__ = ["BidirectionalSync", "CycleReport"]

log = logging.getLogger("leadbridge.sync.bisync")
OTHER: dict[Side, Side] = {"a": "b", "b": "a"}


class BidirectionalSync:
    """Keeps two CRMs' records in step under a `PairMapping`."""

    def __init__(
        self,
        a: RecordStore,
        b: RecordStore,
        mapping: PairMapping,
        state: PairState,
        *,
        owners: Mapping[str, str] | None = None,
        overlap_s: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stores: dict[Side, RecordStore] = {"a": a, "b": b}
        self.mapping = mapping
        self.state = state
        self.rules = mapping.compile(owners)
        self.overlap = timedelta(seconds=overlap_s)
        self.clock = clock
        self.fields: dict[Side, list[str]] = {s: mapping.fields_of(s) for s in SIDES}
        self._prepared: MappingReport | None = None

    # -- setup ----------------------------------------------------------------------

    def prepare(self) -> MappingReport:
        """Check the mapping against both live catalogues; create missing fields. Once."""
        if self._prepared is not None:
            return self._prepared
        catalogs = {s: self.stores[s].describe() for s in SIDES}
        previous = {s: self.state.cursor(s)[1] for s in SIDES}
        report = check_mapping(
            self.mapping,
            catalogs["a"],
            catalogs["b"],
            previous_a=previous["a"],
            previous_b=previous["b"],
            create=("a", "b"),
        )
        report.raise_for_problems()
        for side in SIDES:
            specs = [spec for s, spec in report.to_create if s == side]
            external = self.mapping.side(side).external_id
            self.stores[side].create_fields(specs, unique=frozenset({external}))
            names = [*catalogs[side], *(spec.name for spec in specs)]
            self.state.save_cursor(side, self.state.cursor(side)[0], names)
        self._prepared = report
        return report

    # -- one cycle --------------------------------------------------------------------

    def cycle(self) -> CycleReport:
        """Pull both sides, reconcile, write, remember. Returns what happened."""
        self.prepare()
        report = CycleReport()
        started = self.clock()
        cursors = {s: self.state.cursor(s)[0] for s in SIDES}
        changed: dict[Side, dict[str, RawRecord]] = {"a": {}, "b": {}}
        for side in SIDES:
            cursor = cursors[side]
            since = cursor - self.overlap if cursor is not None else None
            for page in self.stores[side].scan(self.fields[side], since):
                changed[side].update({r.id: r for r in page})
            report.pulled[side] = len(changed[side])
        linker = Linker(self.stores, self.mapping, self.rules, self.state, self.fields, report)
        if any(c is not None for c in cursors.values()):
            linker.end_gone(changed, {s: (cursors[s] or started) - self.overlap for s in SIDES})
        pairs = linker.pair_up(changed)
        overrides = self.state.pending_overrides()
        pairs.extend(linker.override_pairs(overrides, pairs))
        self._reconcile(pairs, overrides, report, started)
        for side in SIDES:
            newest = max((r.modified_at for r in changed[side].values()), default=None)
            value = max(filter(None, (newest, cursors[side])), default=None)
            self.state.save_cursor(side, value, self.state.cursor(side)[1])
        report.calls = {s: self.stores[s].calls() for s in SIDES}
        return report

    def _reconcile(
        self,
        pairs: list[Pair],
        overrides: Mapping[tuple[str, str], tuple[int, Canonical]],
        report: CycleReport,
        at: datetime,
    ) -> None:
        states = self.state.field_states([p.a.id for p in pairs])
        writes: dict[Side, dict[str, dict[str, Any]]] = {"a": {}, "b": {}}
        planned: dict[
            tuple[str, str], tuple[Decision, Canonical, Canonical, FieldState | None]
        ] = {}
        conflicts: list[dict[str, Any]] = []
        applied: list[int] = []
        for pair in pairs:
            prior_fields = states.get(pair.a.id, {})
            for rule in self.rules:
                try:
                    a = rule.read("a", pair.a.fields)
                    b = rule.read("b", pair.b.fields)
                except MappingError as exc:
                    report.invalid += 1
                    log.debug("bisync: %s skipped for %s: %s", rule.name, pair.a.id, exc)
                    continue
                prior = prior_fields.get(rule.name) or pair.fresh.get(rule.name)
                chosen = overrides.get((pair.a.id, rule.name))
                if chosen is not None:
                    decision = _forced(rule, a, b, chosen[1])
                    applied.append(chosen[0])
                    report.overrides += 1
                else:
                    decision = decide(rule, a, b, prior, pair.a.modified_at, pair.b.modified_at)
                planned[(pair.a.id, rule.name)] = (decision, a, b, prior)
                if decision.conflict:
                    conflicts.append(
                        {
                            "a_id": pair.a.id,
                            "b_id": pair.b.id,
                            "field": rule.name,
                            "a_value": a,
                            "b_value": b,
                            "policy": rule.policy,
                            "winner": decision.winner or "none",
                            "status": "auto" if decision.winner else "open",
                        }
                    )
                flags: dict[Side, bool] = {"a": decision.write_a, "b": decision.write_b}
                for side in SIDES:
                    if flags[side]:
                        rid = pair.a.id if side == "a" else pair.b.id
                        target = writes[side].setdefault(rid, {})
                        target[rule.path(side)] = rule.codec(side).render(decision.value)
        ok = {s: self._write(s, writes[s], report) for s in SIDES}
        new_states: dict[tuple[str, str], FieldState] = {}
        by_a = {p.a.id: p for p in pairs}
        rules = {r.name: r for r in self.rules}
        for (a_id, name), (decision, a, b, prior) in planned.items():
            pair, rule = by_a[a_id], rules[name]
            if (decision.write_a and a_id not in ok["a"]) or (
                decision.write_b and pair.b.id not in ok["b"]
            ):
                continue  # a failed write is retried next cycle from the same state
            final_a = rule.codec_a.roundtrip(decision.value) if decision.write_a else a
            final_b = rule.codec_b.roundtrip(decision.value) if decision.write_b else b
            base = prior or FieldState()
            new_states[(a_id, name)] = FieldState(
                a_hash=value_hash(final_a),
                b_hash=value_hash(final_b),
                a_written=value_hash(final_a) if decision.write_a else base.a_written,
                b_written=value_hash(final_b) if decision.write_b else base.b_written,
                a_changed_at=pair.a.modified_at if decision.changed_a else base.a_changed_at,
                b_changed_at=pair.b.modified_at if decision.changed_b else base.b_changed_at,
            )
        self.state.save_states(new_states)
        self.state.log_conflicts(conflicts, at)
        self.state.resolve(applied, at)
        report.conflicts += len(conflicts)

    def _write(
        self, side: Side, rows: Mapping[str, Mapping[str, Any]], report: CycleReport
    ) -> set[str]:
        if not rows:
            return set()
        store = self.stores[side]
        batch = [
            ScoreWrite(source_id=rid, lead_key=f"{store.crm}:{rid}", values=dict(values))
            for rid, values in rows.items()
        ]
        result = store.update(batch)
        report.updated[side] += len(result.succeeded)
        report.failed.update({f"{side}:{k}": v for k, v in result.failed.items()})
        return set(result.succeeded)


def _forced(rule: CompiledRule, a: Canonical, b: Canonical, value: Canonical) -> Decision:
    """A person's override: written wherever a side does not already hold it."""
    return Decision(
        value=value,
        write_a=rule.codec_a.roundtrip(value) != a,
        write_b=rule.codec_b.roundtrip(value) != b,
        changed_a=True,
        changed_b=True,
    )
