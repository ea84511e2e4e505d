"""Benchmark the audit verifier: 1,000,000 entries in ≤ 60 s (issue 6 acceptance).

    python bench/audit_verify.py                          # 1,000,000 entries
    python bench/audit_verify.py --entries 200000 --db /tmp/audit-bench.db --keep

The log is written through `AuditLog.record` (batches of 500 engine-like events, one in
ten with an encrypted personal payload, a signed checkpoint every 1,000 entries exported
to a second folder), so it is the real on-disk format. Then:

- `verify(log)`: the CLI path, streaming rows from SQLite in keyset-paged chunks and
  checking every stored and exported checkpoint;
- `verify_rows(rows)`: the same core on rows already in memory (no database cost);
- the baseline, measured in the same run on a subsample and extrapolated per entry: the
  obvious implementation, one pydantic model per row (`model_validate_json`) plus the
  same SHA-256 and link checks.

With `--tamper` it also runs the acceptance tamper test at full strictness: 1,000 single
mutations, each on its own copy of a 100,000-entry log, each verified from scratch.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path

import orjson
from pydantic import BaseModel

from leadbridge.audit import AuditKeys, AuditLog, CheckpointExport, verify, verify_rows
from leadbridge.audit.entry import GENESIS, chain_hash, encode_body
from leadbridge.core.models import AuditEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=50)
        return self.now


def events(start: int, n: int) -> list[AuditEvent]:
    out = []
    for i in range(start, start + n):
        personal = i % 10 == 0
        out.append(
            AuditEvent(
                kind="crm_write" if i % 2 else "score_change",
                actor="leadbridge-sync",
                at=T0,
                connection="hs",
                subject=f"hubspot:{i % 20000}" if personal else None,
                reason="score write-back",
                request_id=f"run-{i // 5000}",
                details={"object": "contact", "fields": ["leadbridge_score", "leadbridge_tier"]},
                personal={"record_id": str(i), "new": {"leadbridge_score": i % 100}}
                if personal
                else {},
            )
        )
    return out


def build(db: Path, anchors: Path, keys: AuditKeys, n: int) -> AuditLog:
    log = AuditLog.open(db, keys, export_dir=anchors, clock=_Clock())
    have = log.size()
    started = time.perf_counter()
    for start in range(have, n, 500):
        log.record(events(start, min(500, n - start)))
        if (start // 500) % 400 == 0:
            print(f"  built {start:,} entries", flush=True)
    if have < n:
        log.checkpoint()
        print(f"built {n - have:,} entries in {time.perf_counter() - started:.1f} s")
    return log


class NaiveEntry(BaseModel):
    """What a straightforward verifier would validate every row into."""

    v: int
    seq: int
    prev: str
    at: datetime
    kind: str
    actor: str
    connection: str | None
    subject: str | None
    reason: str
    request_id: str | None
    event_at: datetime
    details: dict[str, object]
    payload_hash: str | None


def naive_verify(rows: list[tuple[int, bytes, bytes]]) -> int:
    """One pydantic model per row, then the same hash, link, order and time checks."""
    bad = 0
    prev, last_seq, last_at = rows[0][2] if rows[0][0] > 1 else GENESIS, rows[0][0] - 1, None
    if rows[0][0] > 1:
        prev = bytes.fromhex(orjson.loads(rows[0][1])["prev"])
    for _key, body, stored in rows:
        entry = NaiveEntry.model_validate_json(body)
        link = bytes.fromhex(entry.prev)
        if sha256(link + body).digest() != stored or link != prev or entry.seq != last_seq + 1:
            bad += 1
        if last_at is not None and entry.at < last_at:
            bad += 1
        prev, last_seq, last_at = stored, entry.seq, entry.at
    return bad


def tamper(base: Path, keys: AuditKeys, mutations: int, seed: int) -> None:
    """Each mutation on its own copy of a 100,000-entry log, verified from scratch.

    The log is closed after writing, which signs its final head (as a daemon does on
    shutdown): entries after the newest exported checkpoint are covered by the chain only,
    so without it a truncation or re-chaining of that tail would go unnoticed by design.
    """
    anchors = base / "audit-bench-tamper-anchors"
    log = build(base / "audit-tamper.db", anchors, keys, 100_000)
    log.close()
    rows = list(log.iter_rows())
    stored = log.checkpoint_notes()
    external = CheckpointExport(anchors).notes()
    key = log.verifier_key
    rng = random.Random(seed)
    kinds = ("flip", "delete", "swap", "insert", "truncate", "rechain")
    detected = located = 0
    started = time.perf_counter()
    for _ in range(mutations):
        kind = rng.choice(kinds)
        copy = list(rows)
        i = rng.randrange(1, len(rows) - 1)
        cps, ext = stored, external
        if kind == "flip":
            body = bytearray(copy[i][1])
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
            copy[i] = (copy[i][0], bytes(body), copy[i][2])
        elif kind == "delete":
            del copy[i]
        elif kind == "swap":
            j = rng.randrange(1, len(rows) - 1)
            while j == i:
                j = rng.randrange(1, len(rows) - 1)
            copy[i], copy[j] = (copy[i][0], *copy[j][1:]), (copy[j][0], *copy[i][1:])
        elif kind == "insert":
            source = rows[rng.randrange(len(rows))]
            copy.insert(i, (0, source[1], source[2]))
        elif kind == "truncate":
            copy = copy[:i]
            cps = [(lbl, n) for lbl, n in stored if int(lbl.split("@")[1]) <= i]
        else:
            prev = copy[i - 1][2]
            for k in range(i, len(copy)):
                doc = orjson.loads(copy[k][1])
                if k == i:
                    doc["actor"] = "someone-else"
                fields = {f: v for f, v in doc.items() if f not in ("v", "seq", "prev", "at")}
                body = encode_body(seq=doc["seq"], prev=prev, at=doc["at"], fields=fields)
                prev = chain_hash(prev, body)
                copy[k] = (copy[k][0], body, prev)
            cps = []  # the insider also wipes the stored checkpoints
        copy = [(k + 1, body, digest) for k, (_, body, digest) in enumerate(copy)]  # as stored
        report = verify_rows(copy, verifier=key, checkpoints=cps, external=ext)
        if report.ok:
            print(f"  NOT DETECTED: {kind} at {i + 1}")
        else:
            detected += 1
            seq = i + 1
            if any(
                (p.seq is not None and p.seq - 1 <= seq <= (p.last_seq or p.seq) + 1)
                or (p.row is not None and abs(p.row - seq) <= 1)
                for p in report.problems
            ):
                located += 1
            else:
                print(f"  not located: {kind} at {i + 1}: {report.problems[:2]}")
    elapsed = time.perf_counter() - started
    print(
        f"tamper: {detected}/{mutations} detected ({100 * detected / mutations:.1f} %), "
        f"{located}/{mutations} located, {elapsed:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--baseline-entries", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="Reuse/keep the log here.")
    parser.add_argument("--keep", action="store_true", help="Keep the built log.")
    parser.add_argument("--tamper", type=int, default=0, help="Also run N single mutations.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    db = args.db or work / "audit.db"
    base = db.parent
    keys = AuditKeys.from_dir(base / "audit-bench-keys", env={})
    anchors = base / "audit-bench-anchors"
    try:
        log = build(db, anchors, keys, args.entries)
        size_mb = db.stat().st_size / 1e6

        report = verify(log, external_checkpoints_dir=anchors)
        assert report.ok, report.problems[:3]
        stream_s = report.seconds
        rows = list(log.iter_rows())
        memory = verify_rows(rows, verifier=log.verifier_key, checkpoints=log.checkpoint_notes())
        assert memory.ok
        sample = rows[: args.baseline_entries]
        started = time.perf_counter()
        assert naive_verify(sample) == 0
        naive_per_entry = (time.perf_counter() - started) / len(sample)
        naive_s = naive_per_entry * len(rows)
        fast_per_entry = memory.seconds / len(rows)

        print(
            f"entries: {report.entries:,} ({size_mb:.0f} MB SQLite), checkpoints: "
            f"{report.checkpoints_checked} stored + {report.external_checkpoints_checked} exported"
        )
        print(f"verify(log) from SQLite, streamed:     {stream_s:6.1f} s  (target ≤ 60 s)")
        print(
            f"verify_rows in memory (core only):     {memory.seconds:6.1f} s  "
            f"({fast_per_entry * 1e6:.1f} µs/entry)"
        )
        print(
            f"baseline, pydantic per row (extrap.):  {naive_s:6.1f} s  "
            f"({naive_per_entry * 1e6:.1f} µs/entry, measured on {len(sample):,})"
        )
        print(
            f"ratio baseline / core: {naive_s / memory.seconds:.1f}x; "
            f"streamed / 60 s budget: {stream_s / 60:.2f}"
        )
        if args.tamper:
            tamper(base, keys, args.tamper, seed=6)
        log.engine.dispose()
    finally:
        if not (args.keep or args.db):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
