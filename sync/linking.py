"""Which record is which across two CRMs: pairing, creating, ending pairs.

Part of a bisync cycle (`bidirectional.BidirectionalSync`): it turns the records that
changed on each side into *pairs* to reconcile, links records seen for the first time
(by the partner id a previous create left in the external-id field, else by the match
field, else by creating the partner with an external-id upsert), and ends pairs whose
record was deleted or merged, propagating the delete or merge to the partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from leadbridge.core.errors import MappingError
from leadbridge.core.models import ScoreWrite
from leadbridge.mappings.fields import SIDES, CompiledRule, PairMapping, Side
from leadbridge.mappings.transforms import Canonical
from leadbridge.sync.cyclereport import CycleReport
from leadbridge.sync.pairstate import FieldState, Link, PairState, value_hash
from leadbridge.sync.records import RawRecord, RecordStore

__all__ = ["Linker", "Pair"]

OTHER: dict[Side, Side] = {"a": "b", "b": "a"}


@dataclass(frozen=True)
class Pair:
    """Two records known to be the same person, to reconcile field by field."""

    a: RawRecord
    b: RawRecord
    fresh: dict[str, FieldState] = field(default_factory=dict)


def _link(side: Side, mine: str, theirs: str, status: str = "live") -> Link:
    a_id, b_id = (mine, theirs) if side == "a" else (theirs, mine)
    return Link(a_id, b_id, status)  # type: ignore[arg-type]


class Linker:
    """Pairing for one cycle (it caches partner records it had to look up)."""

    def __init__(
        self,
        stores: Mapping[Side, RecordStore],
        mapping: PairMapping,
        rules: Sequence[CompiledRule],
        state: PairState,
        fields: Mapping[Side, list[str]],
        report: CycleReport,
    ) -> None:
        self.stores = stores
        self.mapping = mapping
        self.rules = rules
        self.state = state
        self.fields = fields
        self.report = report
        self.cache: dict[Side, dict[str, RawRecord]] = {"a": {}, "b": {}}

    # -- deletes and merges -------------------------------------------------------------

    def end_gone(
        self, changed: dict[Side, dict[str, RawRecord]], since: Mapping[Side, datetime]
    ) -> None:
        """End the pairs of records deleted or merged away since `since` (per side)."""
        for side in SIDES:
            other = OTHER[side]
            gone: dict[str, str | None] = dict(self.stores[side].gone_since(since[side]))
            for record in changed[side].values():
                for loser in record.merged_ids:
                    gone.setdefault(loser, record.id)
            if not gone:
                continue
            live = {
                k: v
                for k, v in self.state.links_for(side, list(gone)).items()
                if v.status == "live"
            }
            survivors = self.state.links_for(side, [s for s in gone.values() if s])
            updates: list[Link] = []
            deletes: list[str] = []
            for loser, link in live.items():
                changed[side].pop(loser, None)
                theirs = link.b_id if side == "a" else link.a_id
                survivor = gone[loser]
                if survivor is None:
                    if self.mapping.records.deletes == "propagate":
                        deletes.append(theirs)
                    updates.append(replace(link, status="deleted"))
                    continue
                kept = survivors.get(survivor)
                if kept is not None and kept.status == "live":
                    kept_theirs = kept.b_id if side == "a" else kept.a_id
                    if kept_theirs != theirs and self.mapping.records.merges == "propagate":
                        self.stores[other].merge(kept_theirs, theirs)
                        self.report.merged[other] += 1
                    updates.append(replace(link, status="merged"))
                    continue
                # The survivor was never paired: it inherits the loser's partner.
                if side == "a":
                    updates.append(replace(link, status="merged"))
                updates.append(_link(side, survivor, theirs))
            if deletes:
                result = self.stores[other].delete(deletes)
                self.report.deleted[other] += len(result.succeeded)
            self.state.save_links(updates, datetime.now().astimezone())

    # -- pairing ------------------------------------------------------------------------

    def pair_up(self, changed: dict[Side, dict[str, RawRecord]]) -> list[Pair]:
        """Pairs for every changed record (partners fetched), new records linked or created."""
        ids: dict[str, str] = {}
        unlinked: dict[Side, list[str]] = {"a": [], "b": []}
        for side in SIDES:
            links = self.state.links_for(side, list(changed[side]))
            for record_id in changed[side]:
                link = links.get(record_id)
                if link is None:
                    unlinked[side].append(record_id)
                elif link.status == "live":
                    ids[link.a_id] = link.b_id
        ids.update(self._link_new(changed, unlinked))
        found: dict[Side, dict[str, RawRecord]] = {}
        for side, wanted in (("a", list(ids)), ("b", list(ids.values()))):
            have = {**self.cache[side], **changed[side]}
            missing = [i for i in wanted if i not in have]
            fetched = self.stores[side].fetch(missing, self.fields[side]) if missing else {}
            found[side] = {**have, **fetched}
        return [
            Pair(found["a"][a], found["b"][b])
            for a, b in ids.items()
            if a in found["a"] and b in found["b"]
        ]

    def override_pairs(
        self, overrides: Mapping[tuple[str, str], Any], pairs: Sequence[Pair]
    ) -> list[Pair]:
        """Pairs for queued overrides whose records did not change this cycle."""
        have = {p.a.id for p in pairs}
        wanted = [a for a, _ in overrides if a not in have]
        if not wanted:
            return []
        links = [v for v in self.state.links_for("a", wanted).values() if v.status == "live"]
        got_a = self.stores["a"].fetch([v.a_id for v in links], self.fields["a"])
        got_b = self.stores["b"].fetch([v.b_id for v in links], self.fields["b"])
        return [
            Pair(got_a[v.a_id], got_b[v.b_id]) for v in links if v.a_id in got_a and v.b_id in got_b
        ]

    def _link_new(
        self, changed: dict[Side, dict[str, RawRecord]], unlinked: dict[Side, list[str]]
    ) -> dict[str, str]:
        linked: dict[str, str] = {}
        new_links: list[Link] = []
        for side in SIDES:
            other = OTHER[side]
            taken = set(linked.values()) if side == "b" else set()
            todo = [i for i in unlinked[side] if i not in taken]
            pairs = self._by_external_id(side, changed[side], todo)
            pairs.update(self._by_match(side, changed[side], [i for i in todo if i not in pairs]))
            already = self.state.links_for(other, list(pairs.values()))
            for mine, theirs in list(pairs.items()):
                if theirs in already and already[theirs].status == "live":
                    del pairs[mine]  # the partner is paired with someone else: leave it
            for mine, theirs in pairs.items():
                link = _link(side, mine, theirs)
                new_links.append(link)
                linked[link.a_id] = link.b_id
            rest = [i for i in todo if i not in pairs]
            created = self._create(side, [changed[side][i] for i in rest])
            new_links.extend(_link(side, mine, theirs) for mine, theirs in created.items())
        if new_links:
            self.state.save_links(new_links, datetime.now().astimezone())
            self.report.linked += len(new_links)
        return linked

    def _by_external_id(
        self, side: Side, records: Mapping[str, RawRecord], ids: Sequence[str]
    ) -> dict[str, str]:
        """Records we created from the other side carry ``"<other crm>:<id>"``."""
        external = self.mapping.side(side).external_id
        prefix = f"{self.stores[OTHER[side]].crm}:"
        out: dict[str, str] = {}
        for record_id in ids:
            value = records[record_id].fields.get(external)
            if isinstance(value, str) and value.startswith(prefix):
                out[record_id] = value[len(prefix) :]
        return out

    def _by_match(
        self, side: Side, records: Mapping[str, RawRecord], ids: Sequence[str]
    ) -> dict[str, str]:
        name = self.mapping.records.match
        if name is None or not ids:
            return {}
        rule = next(r for r in self.rules if r.name == name)
        other = OTHER[side]
        keys: dict[str, str] = {}
        for record_id in ids:
            try:
                value = rule.read(side, records[record_id].fields)
            except MappingError:
                continue
            if value is not None:
                keys[record_id] = str(rule.codec(other).render(value)).lower()
        found = self.stores[other].find(rule.path(other), list(keys.values()), self.fields[other])
        out: dict[str, str] = {}
        for record_id, key in keys.items():
            partner = found.get(key)
            if partner is not None:
                self.cache[other][partner.id] = partner
                out[record_id] = partner.id
        return out

    def _create(self, side: Side, records: Sequence[RawRecord]) -> dict[str, str]:
        """Create partners on the other side (upsert on the external id); mine -> theirs."""
        if not records:
            return {}
        other = OTHER[side]
        crm = self.stores[side].crm
        rows: list[ScoreWrite] = []
        fresh: dict[str, dict[str, tuple[Canonical, Canonical]]] = {}
        for record in records:
            values: dict[str, Any] = {}
            seen: dict[str, tuple[Canonical, Canonical]] = {}
            for rule in self.rules:
                try:
                    mine = rule.read(side, record.fields)
                except MappingError:
                    mine = None
                value = mine if mine is not None else rule.default(other)
                theirs: Canonical = None
                if rule.writes_to(other) and value is not None:
                    values[rule.path(other)] = rule.codec(other).render(value)
                    theirs = rule.codec(other).roundtrip(value)
                seen[rule.name] = (mine, theirs)
            key = f"{crm}:{record.id}"
            rows.append(ScoreWrite(source_id=key, lead_key=key, values=values))
            fresh[key] = seen
        result = self.stores[other].upsert(self.mapping.side(other).external_id, rows)
        self.report.created[other] += len(result.created)
        self.report.failed.update({f"{other}:{k}": v for k, v in result.failed.items()})
        created: dict[str, str] = {}
        states: dict[tuple[str, str], FieldState] = {}
        stamp = datetime.now().astimezone()
        for key, theirs_id in result.ids.items():
            mine_id = key.split(":", 1)[1]
            created[mine_id] = theirs_id
            a_id = mine_id if side == "a" else theirs_id
            for name, (mine, theirs) in fresh[key].items():
                a, b = (mine, theirs) if side == "a" else (theirs, mine)
                states[(a_id, name)] = FieldState(
                    a_hash=value_hash(a),
                    b_hash=value_hash(b),
                    a_written=value_hash(a) if side == "b" else None,
                    b_written=value_hash(b) if side == "a" else None,
                    a_changed_at=stamp,
                    b_changed_at=stamp,
                )
        self.state.save_states(states)
        return created
