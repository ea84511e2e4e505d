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
import queue
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
from leadbridge.core.models import AuditEvent, Page, ScoreResult, ScoreWrite
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
        write_workers: int = 2,
        page_filter: Callable[[Page], Page] | None = None,
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
        self.write_workers = write_workers
        # Applied to every pulled page before it is staged (the privacy filter drops
        # erased people and flags objecting ones).
        self.page_filter = page_filter

    # -- the run ------------------------------------------------------------------

    def run(self, *, full: bool = False, pull: bool = True) -> SyncReport:
        """One sync run; `full` re-reads everything and re-scores every lead.

        `pull=False` re-scores every stored lead without reading the CRM (after a scoring
        config change: `leadbridge rescore`), writing only the values that move.
        """
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
            if pull:
                self._pull(self.connector.streams(), full=full, tally=tally)
            else:
                mode = "rescore"
            sweep = full or not pull or mode == "full" or self._sweep_due(as_of)
            if sweep:
                # Scores decay with time, not only with new data: re-score every lead
                # (locally; no API reads) and write the ones whose value moved.
                self.store.mark_all_dirty(self.connection)
            cap = self._score_write_and_read_back(as_of, counts, tally, started)
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

    def _score_write_and_read_back(
        self, as_of: datetime, counts: _WriteTally, tally: _Tally, started: datetime
    ) -> datetime:
        """Score and write the dirty leads, reading back our own echo as we go.

        A CRM stamps our own writes as modifications (HubSpot bumps `lastmodifieddate`),
        so they would come back in the next incremental pull. A follower thread reads the
        echo streams back while the writes proceed (they use different rate buckets),
        which verifies the writes landed and catches foreign edits made meanwhile: those
        leads are dirty again and get another round. The run then ends quiescent and the
        cursor may move past its own echo. Returns the cap for the committed cursors.
        """
        echo = (
            tuple(self.connector.echo_streams)
            if isinstance(self.connector, SupportsReadBack)
            else ()
        )
        cap = started
        for _ in range(max(self.read_back_rounds, 1)):
            follower = _Follower(self, echo, tally.read_back) if echo and self.read_back else None
            written_before = counts.written
            self._score_and_write(as_of, counts, tally, follower)
            if follower is not None:
                follower.finish()
                if counts.written > written_before and follower.final_pass_started is not None:
                    cap = follower.final_pass_started
            if (
                follower is None
                or counts.written == written_before
                or self.stop.is_set()
                or tally.errors
            ):
                break
            if not self.store.dirty_keys(self.connection):
                break
        return cap

    def _pull(self, streams: Iterable[str], *, full: bool, tally: _Tally) -> None:
        streams = list(streams)
        self.progress.stage("pull")

        def pull_stream(stream: str) -> None:
            since = None if full else self.store.bookmark(self.connection, stream, staged=True)
            try:
                for raw in self.connector.read(stream, since):
                    page = self.page_filter(raw) if self.page_filter is not None else raw
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

    def _score_and_write(
        self, as_of: datetime, counts: _WriteTally, tally: _Tally, follower: _Follower | None = None
    ) -> None:
        """Score dirty leads chunk by chunk; a writer thread sends the changes meanwhile."""
        snapshot = self.store.dirty_snapshot(self.connection)
        keys = snapshot.keys
        self.progress.stage("score", total=len(keys))
        writer = _Writer(self, counts, tally, upto=snapshot.upto, follower=follower)
        try:
            for start in range(0, len(keys), self.score_chunk):
                if self.stop.is_set() or writer.failed:
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
                writer.submit(self._diff(live, by_key, counts, snapshot.upto), by_key)
                self.progress.advance("score", len(chunk))
        finally:
            writer.close()

    def _diff(
        self,
        live: dict[str, LeadRecord],
        by_key: dict[str, ScoreResult],
        counts: _WriteTally,
        upto: int,
    ) -> list[_Pending]:
        prior = self.store.written_for(self.connection, [r.source_id for r in live.values()])
        pending: list[_Pending] = []
        unchanged: list[str] = []
        for key, record in live.items():
            result = by_key.get(key)
            values = score_values(result) if result is not None else cleared_values()
            fp = fingerprint(significant(values))
            previous = prior.get(record.source_id)
            if (
                record.lead.read_only  # the CRM refuses writes on it: scored, not written
                or (previous is not None and previous.fingerprint == fp)
                or (result is None and previous is None)
            ):
                unchanged.append(key)
                continue
            old = previous.values if previous is not None else {}
            pending.append(_Pending(key, record.source_id, values, fp, old))
        counts.unchanged += len(unchanged)
        self.store.settle(self.connection, unchanged=unchanged, upto=upto)
        return pending

    def _write(
        self,
        pending: list[_Pending],
        by_key: dict[str, ScoreResult],
        counts: _WriteTally,
        tally: _Tally,
        *,
        upto: int,
        on_acked: Callable[[int], None] | None = None,
    ) -> bool:
        """Write `pending` in batches; False when the run must stop (error or stop event)."""
        size = max(self.writer.max_batch, 1)
        queue = [pending[i : i + size] for i in range(0, len(pending), size)]
        while queue:
            if self.stop.is_set():
                return False  # leave the rest dirty: the next run picks them up
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
                self.store.settle(self.connection, failed=failed, upto=upto)
                counts.add(failed=1)
                continue
            except LeadbridgeError as exc:
                tally.error(f"write: {exc}")
                return False
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
                upto=upto,
            )
            counts.add(written=len(acked), failed=len(failed))
            self.progress.advance("write", len(batch))
            if on_acked is not None:
                on_acked(len(acked))
        return True

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


class _Writer:
    """Sends scored changes from a few threads, so scoring the next chunk overlaps writing.

    Batches go on a bounded queue (memory stays flat); several threads overlap request
    latency while the shared rate limiter keeps the account within its budget. After an
    error or a stop the remaining work is dropped (those leads stay dirty).
    """

    def __init__(
        self,
        engine: SyncEngine,
        counts: _WriteTally,
        tally: _Tally,
        *,
        upto: int,
        follower: _Follower | None,
    ) -> None:
        self._engine = engine
        self._counts = counts
        self._tally = tally
        self._upto = upto
        self._follower = follower
        workers = max(engine.write_workers, 1)
        self._queue: queue.Queue[tuple[list[_Pending], dict[str, ScoreResult]] | None] = (
            queue.Queue(maxsize=2 * workers)
        )
        self.failed = False
        self._carry: list[tuple[_Pending, ScoreResult | None]] = []
        self._threads = [
            threading.Thread(target=self._run, name=f"lb-writer-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()
        engine.progress.stage("write")

    def submit(self, pending: list[_Pending], by_key: dict[str, ScoreResult]) -> None:
        """Queue full batches; a remainder waits for the next chunk (or `close`)."""
        self._carry.extend((p, by_key.get(p.lead_key)) for p in pending)
        size = max(self._engine.writer.max_batch, 1)
        while len(self._carry) >= size:
            self._emit(self._carry[:size])
            del self._carry[:size]

    def _emit(self, items: list[tuple[_Pending, ScoreResult | None]]) -> None:
        results = {p.lead_key: r for p, r in items if r is not None}
        self._queue.put(([p for p, _ in items], results))

    def close(self) -> None:
        if self._carry and not self.failed and not self._engine.stop.is_set():
            self._emit(self._carry)
        self._carry = []
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        on_acked = self._follower.acked if self._follower is not None else None
        while (item := self._queue.get()) is not None:
            if self.failed:
                continue
            batch, by_key = item
            try:
                ok = self._engine._write(
                    batch, by_key, self._counts, self._tally, upto=self._upto, on_acked=on_acked
                )
            except LeadbridgeError as exc:
                self._tally.error(f"write: {exc}")
                ok = False
            if not ok:
                self.failed = True


class _Follower:
    """Reads the echo streams back on its own thread, trailing the writer.

    A pass starts once `every` more writes were acknowledged (about two search pages, so
    passes read full pages), and once more after the last write: that final pass is the
    point up to which everything written has been seen again.
    """

    def __init__(
        self, engine: SyncEngine, streams: tuple[str, ...], tally: _Tally, every: int = 400
    ) -> None:
        self._engine = engine
        self._streams = streams
        self._tally = tally
        self._every = every
        self._cond = threading.Condition()
        self._pending = 0
        self._acked_total = 0
        self._finishing = False
        self.final_pass_started: datetime | None = None
        self._thread = threading.Thread(target=self._run, name="lb-read-back", daemon=True)
        self._thread.start()

    def acked(self, n: int) -> None:
        with self._cond:
            self._pending += n
            self._acked_total += n
            if self._pending >= self._every:
                self._cond.notify()

    def finish(self) -> None:
        with self._cond:
            self._finishing = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._finishing or self._pending >= self._every)
                final = self._finishing
                anything = self._acked_total > 0
                self._pending = 0
            if final:
                if anything:  # nothing written, nothing to read back
                    self.final_pass_started = utcnow()
                    self._engine._pull(self._streams, full=False, tally=self._tally)
                return
            self._engine._pull(self._streams, full=False, tally=self._tally)


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
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *, written: int = 0, failed: int = 0) -> None:
        """Writer threads report here (increments are not atomic across threads)."""
        with self._lock:
            self.written += written
            self.failed += failed

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
