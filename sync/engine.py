"""The sync engine: pull (incremental, resumable) → score → diff → batched write → checkpoint.

One run of one connection:

1. **Pull** every stream of the connector in parallel (they pace against one shared
   rate limiter), staging each page in the state store as it arrives. A resumed run
   continues from the staged bookmark, so a crash costs at most one page.
2. **Score** the leads the pull touched (dirty leads), in chunks, with the scorer's fast
   path, as of the run's start time.
3. **Diff** each score against the values last acknowledged by the CRM; unchanged leads
   are settled without a call.
4. **Write** the changes in batches of the connector's `max_batch`. A batch the CRM
   refuses as a whole is split to isolate the bad record, which goes to the dead-letter
   table; per-record failures are dead-lettered too. Acknowledged values are recorded.
5. **Checkpoint**: only when no lead awaits its write do the staged bookmarks become the
   committed cursors, capped at the run's start (records changed during the run are read
   again next time). A run killed anywhere loses nothing and never moves a cursor ahead
   of the writes it depends on.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field

from leadbridge.core.errors import LeadbridgeError, PermanentAPIError, StateError
from leadbridge.core.models import AuditEvent, ScoreResult, ScoreWrite
from leadbridge.core.protocols import (
    AuditSink,
    CallStats,
    Connector,
    Scorer,
    SupportsReadBack,
    SupportsWriteBack,
)
from leadbridge.core.redaction import redact
from leadbridge.sync.state import LeadRecord, StateStore, fingerprint
from leadbridge.sync.writeback import SCORE_FIELDS, cleared_values, score_values, significant

__all__ = ["ProgressSink", "RankedLead", "SyncEngine", "SyncReport"]

log = logging.getLogger("leadbridge.sync")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class RankedLead(BaseModel):
    """A top lead for summaries."""

    model_config = ConfigDict(frozen=True)

    lead_key: str
    name: str
    score: int
    tier: str
    action: str
    summary: str


class SyncReport(BaseModel):
    """What one run did: the figures `leadbridge demo` and `sync` print."""

    model_config = ConfigDict(frozen=True)

    connection: str
    mode: str
    status: str
    started_at: datetime
    elapsed_s: float
    leads_pulled: int = 0
    activities_pulled: int = 0
    leads_read_back: int = Field(
        0, description="Records re-read after writing (echo verification)."
    )
    leads_scored: int = 0
    leads_written: int = 0
    leads_unchanged: int = 0
    write_failures: int = 0
    rejects: int = 0
    deleted: int = 0
    api_calls: dict[str, int] = Field(default_factory=dict)
    min_api_calls: dict[str, int] = Field(default_factory=dict)
    tier_counts: dict[str, int] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    top: list[RankedLead] = Field(default_factory=list)


class ProgressSink(Protocol):
    """Receives progress as the run goes (the CLI draws bars from it)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage starts (``pull``, ``score``, ``write``)."""

    def advance(self, name: str, amount: int = 1) -> None:
        """`amount` more units of stage `name` are done."""


class _NullProgress:
    def stage(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, name: str, amount: int = 1) -> None:
        return None


@dataclass
class _Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    parent: _Tally | None = None
    leads: int = 0
    activities: int = 0
    rejects: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)
    _read_back: _Tally | None = None

    def add(
        self, *, leads: int = 0, activities: int = 0, rejects: int = 0, deleted: int = 0
    ) -> None:
        with self.lock:
            self.leads += leads
            self.activities += activities
            self.rejects += rejects
            self.deleted += deleted

    def error(self, message: str) -> None:
        if self.parent is not None:
            self.parent.error(message)
            return
        with self.lock:
            self.errors.append(redact(message))

    @property
    def read_back(self) -> _Tally:
        """A sub-tally for read-back pulls: counted apart, errors shared."""
        if self._read_back is None:
            self._read_back = _Tally(parent=self)
        return self._read_back


class SyncEngine:
    """Runs one connection: a connector that can write back, a scorer, a state store."""

    def __init__(
        self,
        connector: Connector,
        scorer: Scorer,
        store: StateStore,
        *,
        connection: str,
        clock: Clock = utcnow,
        score_chunk: int = 2000,
        progress: ProgressSink | None = None,
        stop: threading.Event | None = None,
        top_n: int = 10,
        audit: AuditSink | None = None,
        actor: str = "leadbridge-sync",
        decay_sweep_s: float | None = 86_400.0,
        read_back: bool = True,
        read_back_rounds: int = 3,
    ) -> None:
        if not isinstance(connector, SupportsWriteBack):
            raise TypeError(f"connector {connector.name!r} cannot write back")
        self.connector = connector
        self.writer: SupportsWriteBack = connector
        self.scorer = scorer
        self.store = store
        self.connection = connection
        self.clock = clock
        self.score_chunk = score_chunk
        self.progress: ProgressSink = progress or _NullProgress()
        self.stop = stop or threading.Event()
        self.top_n = top_n
        self.audit = audit
        self.actor = actor
        self.decay_sweep_s = decay_sweep_s
        self.read_back = read_back
        self.read_back_rounds = read_back_rounds

    # -- the run ------------------------------------------------------------------

    def run(self, *, full: bool = False) -> SyncReport:
        """One sync run; `full` re-reads everything and re-scores every lead."""
        started = utcnow()  # wall clock: the signpost that caps cursors
        as_of = self.clock()  # scoring time: pinned for replays and reproducible runs
        t0 = time.perf_counter()
        # A first run is a full one; a first run that was killed resumes from its staged
        # bookmarks instead of starting over.
        mode = "full" if full or self._first_run() else "incremental"
        run_id = self.store.begin_run(self.connection, mode, started)
        calls_before, min_before = self._call_stats()
        tally = _Tally()
        counts = _WriteTally()
        status = "ok"
        try:
            self._ensure_fields()
            if full:
                self.store.reset_staging(self.connection)
            self._pull(self.connector.streams(), full=full, tally=tally)
            sweep = full or mode == "full" or self._sweep_due(as_of)
            if sweep:
                # Scores decay with time, not only with new data: re-score every lead
                # (locally; no API reads) and write the ones whose value moved.
                self.store.mark_all_dirty(self.connection)
            self._score_and_write(as_of, counts, tally)
            cap = started
            if counts.written and not self.stop.is_set() and not tally.errors:
                cap = self._read_back(as_of, counts, tally)
            if self.stop.is_set():
                status = "stopped"
            elif tally.errors:
                status = "partial"
            else:
                self.store.commit_bookmarks(self.connection, cap=cap)
                if sweep:
                    self.store.set_meta(self._sweep_key, as_of.isoformat())
        except LeadbridgeError as exc:
            status = "failed"
            tally.error(str(exc))
        calls_after, min_after = self._call_stats()
        report = SyncReport(
            connection=self.connection,
            mode=mode,
            status=status,
            started_at=started,
            elapsed_s=round(time.perf_counter() - t0, 3),
            leads_pulled=tally.leads,
            activities_pulled=tally.activities,
            leads_read_back=tally.read_back.leads,
            leads_scored=counts.scored,
            leads_written=counts.written,
            leads_unchanged=counts.unchanged,
            write_failures=counts.failed,
            rejects=tally.rejects,
            deleted=tally.deleted,
            api_calls=_delta(calls_after, calls_before),
            min_api_calls=_delta(min_after, min_before),
            tier_counts=dict(sorted(counts.tiers.items())),
            errors=tally.errors,
            top=counts.top(),
        )
        self.store.finish_run(run_id, status, report.model_dump_json())
        return report

    @property
    def _sweep_key(self) -> str:
        return f"decay_sweep:{self.connection}"

    def _sweep_due(self, now: datetime) -> bool:
        if self.decay_sweep_s is None:
            return False
        last = self.store.get_meta(self._sweep_key)
        if last is None:
            return True
        return (now - datetime.fromisoformat(last)).total_seconds() >= self.decay_sweep_s

    def _first_run(self) -> bool:
        return all(
            self.store.bookmark(self.connection, s, staged=True) is None
            for s in self.connector.streams()
        )

    def _call_stats(self) -> tuple[dict[str, int], dict[str, int]]:
        if isinstance(self.connector, CallStats):
            return self.connector.calls(), self.connector.min_calls()
        return {}, {}

    def _ensure_fields(self) -> None:
        key = f"fields:{self.connection}"
        wanted = fingerprint({spec.name: spec.model_dump() for spec in SCORE_FIELDS})
        if self.store.get_meta(key) == wanted:
            return
        self.writer.ensure_fields(SCORE_FIELDS)
        self.store.set_meta(key, wanted)

    # -- pull -----------------------------------------------------------------------

    def _read_back(self, as_of: datetime, counts: _WriteTally, tally: _Tally) -> datetime:
        """Read back the streams our writes echo into, so the run ends quiescent.

        A CRM stamps our own writes as modifications (HubSpot bumps `lastmodifieddate`),
        so they would come back in the next incremental pull. Reading them back now, from
        the staged bookmarks, verifies the writes landed and catches foreign edits made
        while the run was busy (dirty again: scored and written in another round); the
        cursor may then move past our own echo. Returns the new cursor cap.
        """
        echo = (
            tuple(self.connector.echo_streams)
            if isinstance(self.connector, SupportsReadBack)
            else ()
        )
        cap = utcnow()
        if not echo or not self.read_back:
            return cap
        for _ in range(self.read_back_rounds):
            cap = utcnow()
            written_before = counts.written
            self._pull(echo, full=False, tally=tally.read_back)
            self._score_and_write(as_of, counts, tally)
            if counts.written == written_before or self.stop.is_set() or tally.errors:
                break
        return cap

    def _pull(self, streams: Iterable[str], *, full: bool, tally: _Tally) -> None:
        streams = list(streams)
        self.progress.stage("pull")

        def pull_stream(stream: str) -> None:
            since = None if full else self.store.bookmark(self.connection, stream, staged=True)
            try:
                for page in self.connector.read(stream, since):
                    self.store.stage_page(self.connection, page)
                    tally.add(
                        leads=len(page.leads),
                        activities=len(page.activities),
                        rejects=len(page.rejects),
                        deleted=len(page.deleted),
                    )
                    self.progress.advance("pull", len(page.leads) + len(page.activities))
                    if self.stop.is_set():
                        return
            except StateError:
                raise
            except LeadbridgeError as exc:
                tally.error(f"stream {stream}: {exc}")

        with ThreadPoolExecutor(
            max_workers=max(len(streams), 1), thread_name_prefix="lb-pull"
        ) as pool:
            for future in [pool.submit(pull_stream, s) for s in streams]:
                future.result()

    # -- score and write ------------------------------------------------------------

    def _score_and_write(self, as_of: datetime, counts: _WriteTally, tally: _Tally) -> None:
        keys = self.store.dirty_keys(self.connection)
        self.progress.stage("score", total=len(keys))
        for start in range(0, len(keys), self.score_chunk):
            if self.stop.is_set():
                return
            chunk = keys[start : start + self.score_chunk]
            records = self.store.load_leads(self.connection, chunk)
            live = {k: r for k, r in records.items() if not r.deleted}
            acts = self.store.load_activities(self.connection, list(live))
            scorable = [k for k, r in live.items() if not r.lead.consent.objects_to_profiling]
            results = self.scorer.score_many(
                [(live[k].lead, acts[k]) for k in scorable], as_of=as_of
            )
            by_key: dict[str, ScoreResult] = {r.lead_key: r for r in results}
            counts.observe(results, live)
            pending = self._diff(live, by_key, counts)
            self._write(pending, by_key, counts, tally)
            self.progress.advance("score", len(chunk))

    def _diff(
        self, live: dict[str, LeadRecord], by_key: dict[str, ScoreResult], counts: _WriteTally
    ) -> list[_Pending]:
        prior = self.store.written_for(self.connection, [r.source_id for r in live.values()])
        pending: list[_Pending] = []
        unchanged: list[str] = []
        for key, record in live.items():
            result = by_key.get(key)
            values = score_values(result) if result is not None else cleared_values()
            fp = fingerprint(significant(values))
            previous = prior.get(record.source_id)
            if (previous is not None and previous.fingerprint == fp) or (
                result is None and previous is None
            ):
                unchanged.append(key)
                continue
            old = previous.values if previous is not None else {}
            pending.append(_Pending(key, record.source_id, values, fp, old))
        counts.unchanged += len(unchanged)
        self.store.settle(self.connection, unchanged=unchanged)
        return pending

    def _write(
        self,
        pending: list[_Pending],
        by_key: dict[str, ScoreResult],
        counts: _WriteTally,
        tally: _Tally,
    ) -> None:
        size = max(self.writer.max_batch, 1)
        queue = [pending[i : i + size] for i in range(0, len(pending), size)]
        self.progress.stage("write", total=len(pending))
        while queue:
            if self.stop.is_set():
                return  # leave the rest dirty: the next run picks them up
            batch = queue.pop(0)
            try:
                result = self.writer.write(
                    [
                        ScoreWrite(source_id=p.source_id, lead_key=p.lead_key, values=p.values)
                        for p in batch
                    ]
                )
            except PermanentAPIError as exc:
                if len(batch) > 1:
                    half = len(batch) // 2
                    queue[:0] = [batch[:half], batch[half:]]  # isolate the record the CRM refuses
                    continue
                failed = [(batch[0].lead_key, batch[0].source_id, str(exc), _payload(batch[0]))]
                self.store.settle(self.connection, failed=failed)
                counts.failed += 1
                continue
            except LeadbridgeError as exc:
                tally.error(f"write: {exc}")
                return
            ok = set(result.succeeded)
            acked = [p for p in batch if p.source_id in ok]
            failed = [
                (
                    p.lead_key,
                    p.source_id,
                    result.failed.get(p.source_id, "not acknowledged"),
                    _payload(p),
                )
                for p in batch
                if p.source_id not in ok
            ]
            history = [by_key[p.lead_key] for p in acked if p.lead_key in by_key]
            self._audit(acked, by_key)
            self.store.settle(
                self.connection,
                written_rows=[(p.source_id, p.lead_key, p.values, p.fingerprint) for p in acked],
                failed=failed,
                history=history,
            )
            counts.written += len(acked)
            counts.failed += len(failed)
            self.progress.advance("write", len(batch))

    def _audit(self, acked: list[_Pending], by_key: dict[str, ScoreResult]) -> None:
        """One score-change and one CRM-write event per acknowledged record.

        Recorded before the write is settled locally: a crash in between replays the
        write (same values) and records it again, never the reverse.
        """
        if self.audit is None or not acked:
            return
        at = utcnow()
        events: list[AuditEvent] = []
        for p in acked:
            result = by_key.get(p.lead_key)
            if result is not None:
                events.append(
                    AuditEvent(
                        kind="score_change",
                        actor=self.actor,
                        at=at,
                        connection=self.connection,
                        subject=p.lead_key,
                        reason="rescored after new data",
                        details={
                            "config_version": result.config_version,
                            "model_version": result.model_version,
                        },
                        personal={
                            "score": result.score,
                            "tier": result.tier,
                            "reasons": [r.model_dump(mode="json") for r in result.reasons],
                            "summary": result.summary,
                        },
                    )
                )
            changed = sorted(k for k in significant(p.values) if p.old.get(k) != p.values.get(k))
            events.append(
                AuditEvent(
                    kind="crm_write",
                    actor=self.actor,
                    at=at,
                    connection=self.connection,
                    subject=p.lead_key,
                    reason="score write-back"
                    if result is not None
                    else "objection to profiling: score cleared",
                    details={"object": "contact", "fields": changed},
                    personal={
                        "record_id": p.source_id,
                        "old": {k: p.old.get(k) for k in changed},
                        "new": {k: p.values.get(k) for k in changed},
                    },
                )
            )
        self.audit.record(events)


@dataclass(frozen=True)
class _Pending:
    lead_key: str
    source_id: str
    values: dict[str, Any]
    fingerprint: str
    old: dict[str, Any] = field(default_factory=dict)


@dataclass
class _WriteTally:
    scored: int = 0
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    _heap: list[tuple[int, str, RankedLead]] = field(default_factory=list)
    top_n: int = 10

    def observe(self, results: Iterable[ScoreResult], live: dict[str, LeadRecord]) -> None:
        for result in results:
            self.scored += 1
            self.tiers[result.tier] += 1
            lead = live[result.lead_key].lead
            name = (
                " ".join(p for p in (lead.first_name, lead.last_name) if p)
                or lead.email
                or lead.key
            )
            item = (
                result.score,
                result.lead_key,
                RankedLead(
                    lead_key=result.lead_key,
                    name=name,
                    score=result.score,
                    tier=result.tier,
                    action=result.action,
                    summary=result.summary,
                ),
            )
            if len(self._heap) < self.top_n:
                heapq.heappush(self._heap, item)
            elif item[:2] > self._heap[0][:2]:
                heapq.heapreplace(self._heap, item)

    def top(self) -> list[RankedLead]:
        return [entry[2] for entry in sorted(self._heap, key=lambda e: (-e[0], e[1]))]


def _payload(pending: _Pending) -> str:
    return redact(
        orjson.dumps({"source_id": pending.source_id, "values": pending.values}).decode()
    )[:2000]


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(after) | set(before))}
