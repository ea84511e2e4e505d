"""Verify an audit log: every entry, every link, every signed checkpoint; say where it broke.

The core, `verify_rows`, takes any iterable of stored rows ``(row key, body, hash)`` in
storage order, so the CLI streams it from the database in large chunks and the tamper
tests feed it mutated copies from memory: one code path for both. Per row it parses the
body once (orjson), recomputes ``SHA-256(prev ‖ body)`` and does a few integer compares;
no per-row model is built (1,000,000 rows verify in seconds, see docs/benchmarks.md).

What is checked (reliability notes §4, "verifier checks"):

- **edited**: a body or stored hash that does not recompute, or an entry that does not
  chain to its predecessor.
- **deleted / reordered / inserted**: sequence numbers (inside the hashed body, so an
  attacker cannot renumber) must run 1, 2, 3… in storage order. A one-row look-ahead tells
  a gap (deletion), a displaced entry (a swap or move) and a duplicate or forged extra row
  (insertion) apart; gaps still open at the end are deletions.
- **time_regression**: append times never decrease along the chain.
- **bad_signature**: a stored or exported checkpoint not signed by the *pinned* key (never
  a key read from the database being verified).
- **rechained / truncated**: the recomputed head at each signed size must equal the
  signed root; a signed size beyond the log's end means its tail was cut. These are the
  two attacks a chain cannot reveal by itself, hence the external checkpoints. Entries
  appended after the newest exported checkpoint are protected by the chain only.

Problems are coalesced (a moved block of 50 entries is one problem) and capped.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable, Iterator
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import orjson
from pydantic import BaseModel, Field

from leadbridge.audit.checkpoint import (
    CheckpointExport,
    InvalidCheckpoint,
    open_checkpoint,
    parse_checkpoint,
)
from leadbridge.audit.entry import GENESIS
from leadbridge.audit.keys import VerifierKey
from leadbridge.core.errors import ConfigError

if TYPE_CHECKING:
    from leadbridge.audit.log import AuditLog

__all__ = ["Problem", "ProblemKind", "Row", "VerifyReport", "verify", "verify_rows"]

Row = tuple[int, bytes, bytes]
"""A stored entry: (row key, canonical body, stored hash)."""

ProblemKind = Literal[
    "edited",
    "deleted",
    "inserted",
    "reordered",
    "truncated",
    "rechained",
    "bad_signature",
    "time_regression",
]
MAX_PROBLEMS = 10_000


class Problem(BaseModel):
    """One finding, located by entry sequence numbers and by storage row."""

    kind: ProblemKind
    seq: int | None = Field(default=None, description="First entry concerned.")
    last_seq: int | None = Field(default=None, description="Last entry concerned (ranges).")
    row: int | None = Field(default=None, description="Row key (storage) where it was seen.")
    last_row: int | None = None
    message: str


class VerifyReport(BaseModel):
    """The verdict: `ok` only when nothing at all is wrong."""

    ok: bool
    entries: int = Field(description="Rows read.")
    head_seq: int
    head_hash: str
    checkpoints_checked: int = 0
    external_checkpoints_checked: int = 0
    anchored_size: int = Field(0, description="Largest size vouched for by an exported checkpoint.")
    problems: list[Problem] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0


class _Targets:
    """Signed (size → root) claims to check against the recomputed chain."""

    def __init__(self) -> None:
        self.by_size: dict[int, list[tuple[str, bool, bytes]]] = {}
        self.results: list[tuple[bool, int, str, bool]] = []  # (external, size, label, match)
        self.max_size: tuple[int, str] = (0, "")

    def add(self, size: int, label: str, external: bool, root: bytes) -> None:
        self.by_size.setdefault(size, []).append((label, external, root))
        if size > self.max_size[0]:
            self.max_size = (size, label)


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(
        self,
        kind: ProblemKind,
        message: str,
        *,
        seq: int | None = None,
        last_seq: int | None = None,
        row: int | None = None,
    ) -> int:
        last = self.items[-1] if self.items else None
        if (
            last is not None
            and kind in ("reordered", "inserted", "edited")
            and last.kind == kind
            and seq is not None
            and row is not None
            and last.row is not None
            and (last.last_seq or last.seq) == seq - 1
            and (last.last_row or last.row) == row - 1
        ):
            last.last_seq, last.last_row = seq, row
            return len(self.items) - 1
        if len(self.items) >= MAX_PROBLEMS:
            self.dropped += 1
            return -1
        self.items.append(Problem(kind=kind, seq=seq, last_seq=last_seq, row=row, message=message))
        return len(self.items) - 1


class _Missing:
    """Sequence numbers skipped so far, as sorted disjoint [lo, hi] intervals."""

    def __init__(self) -> None:
        self.los: list[int] = []
        self.his: list[int] = []

    def add(self, lo: int, hi: int) -> None:
        index = bisect.bisect_left(self.los, lo)
        self.los.insert(index, lo)
        self.his.insert(index, hi)

    def take(self, seq: int) -> bool:
        """Remove `seq` if it was missing; True when it was."""
        index = bisect.bisect_right(self.los, seq) - 1
        if index < 0 or self.his[index] < seq:
            return False
        lo, hi = self.los[index], self.his[index]
        del self.los[index], self.his[index]
        if seq + 1 <= hi:
            self.add(seq + 1, hi)
        if lo <= seq - 1:
            self.add(lo, seq - 1)
        return True

    def ranges(self) -> Iterator[tuple[int, int]]:
        return zip(self.los, self.his, strict=True)


# A parsed row: (row key, seq or None when invalid, prev, at, stored hash, recomputed hash)
_Parsed = tuple[int, int | None, bytes, str, bytes, bytes | None]


def _parse(rows: Iterable[Row]) -> Iterator[_Parsed]:
    loads = orjson.loads
    for row, body, stored in rows:
        try:
            doc = loads(body)
            seq, prev_hex, at = doc["seq"], doc["prev"], doc["at"]
            prev = bytes.fromhex(prev_hex)
        except (ValueError, KeyError, TypeError):
            yield row, None, b"", "", stored, None
            continue
        if type(seq) is not int or type(at) is not str or len(prev) != 32:
            yield row, None, b"", "", stored, None
            continue
        computed = sha256(prev + body).digest()
        if computed != stored:
            yield row, None, b"", "", stored, computed
        else:
            yield row, seq, prev, at, stored, computed


class _Walker:
    """The streaming state machine behind `verify_rows` (see the module docstring)."""

    def __init__(self, targets: _Targets, problems: _Problems) -> None:
        self.targets = targets
        self.problems = problems
        self.a = 0  # last sequence number accounted for in place
        self.hashes: tuple[bytes, ...] | None = (GENESIS,)  # acceptable hashes of entry a
        self.a_row: int | None = None
        self.last_at = ""
        self.missing = _Missing()
        self.displaced: dict[int, tuple[int, bytes, int]] = {}  # seq -> (row, hash, problem)
        self.edited: tuple[int, tuple[bytes, ...] | None] | None = None  # (problem, hashes before)
        self.fork: tuple[int, int | None, bytes, int] | None = None  # (seq, twin row, hash, pb)
        self.rows = 0
        self.head = GENESIS

    def feed(self, cur: _Parsed, nxt: _Parsed | None) -> None:
        self.rows += 1
        row, s, prev, at, stored, computed = cur
        edited, self.edited = self.edited, None
        if s is None:
            self._invalid(row, stored, computed)
        elif edited is not None and s == self.a and edited[1] is not None and prev in edited[1]:
            pb = self.problems.items[edited[0]] if edited[0] >= 0 else None
            if pb is not None:
                pb.kind = "inserted"
                pb.message = f"row {pb.row} is not a valid entry: inserted before entry {s}"
            self._in_place(row, s, at, stored)
        elif s == self.a + 1:
            self._next_in_line(row, s, prev, at, stored)
        elif s > self.a + 1:
            self._ahead(row, s, at, stored, nxt)
        else:
            self._behind(row, s, prev, stored)
        self._skip_displaced(nxt)

    def _invalid(self, row: int, stored: bytes, computed: bytes | None) -> None:
        s = self.a + 1
        what = (
            "does not parse as an entry" if computed is None else "does not hash to its stored hash"
        )
        pb = self.problems.add("edited", f"entry {s} (row {row}) {what}", seq=s, row=row)
        self.edited = (pb, self.hashes)
        self.a, self.a_row = s, row
        self.hashes = (stored,) if computed is None else (stored, computed)
        self.head = stored
        if s in self.targets.by_size:
            for label, external, root in self.targets.by_size[s]:
                self.targets.results.append((external, s, label, root in self.hashes))

    def _in_place(self, row: int, s: int, at: str, h: bytes) -> None:
        if at < self.last_at:
            self.problems.add(
                "time_regression", f"entry {s} is dated {at}, before {self.last_at}", seq=s, row=row
            )
        else:
            self.last_at = at
        if self.fork is not None and s == self.fork[0] + 1:
            self.fork = None
        self.a, self.hashes, self.a_row, self.head = s, (h,), row, h
        if s in self.targets.by_size:
            for label, external, root in self.targets.by_size[s]:
                self.targets.results.append((external, s, label, root == h))

    def _next_in_line(self, row: int, s: int, prev: bytes, at: str, h: bytes) -> None:
        twin = self.displaced.pop(s, None)
        if twin is not None:  # an earlier out-of-place copy of this entry was a replay
            pb = self.problems.items[twin[2]] if twin[2] >= 0 else None
            if pb is not None:
                pb.kind = "inserted"
                pb.message = f"row {twin[0]} is an extra copy of entry {s}: inserted"
        if self.fork is not None and s == self.fork[0] + 1:
            fork_seq, twin_row, fork_hash, pb_index = self.fork
            if prev == fork_hash and pb_index >= 0 and twin_row is not None:
                pb = self.problems.items[pb_index]  # the first copy was the forgery
                pb.row, pb.last_row = twin_row, None
                pb.message = f"row {twin_row} forges entry {fork_seq}: inserted"
        if self.hashes is not None and prev not in self.hashes:
            self.problems.add(
                "edited",
                f"entry {s} does not chain to entry {self.a}: one of them was rewritten",
                seq=self.a if self.a else s,
                last_seq=s,
                row=row,
            )
        self._in_place(row, s, at, h)

    def _ahead(self, row: int, s: int, at: str, h: bytes, nxt: _Parsed | None) -> None:
        a = self.a
        if s in self.displaced:
            self.problems.add("inserted", f"row {row} repeats entry {s}: inserted", seq=s, row=row)
            return
        nxt_seq = nxt[1] if nxt is not None else None
        if nxt_seq is not None and nxt_seq != s + 1 and nxt_seq in (a + 1, a + 2):
            pb = self.problems.add(
                "reordered", f"entry {s} found at row {row}, after entry {a}", seq=s, row=row
            )
            self.displaced[s] = (row, h, pb)
            if nxt_seq == a + 2:  # it took the place of entry a+1, which must appear later
                self.missing.add(a + 1, a + 1)
                self.a, self.hashes = a + 1, None
            return
        self.missing.add(a + 1, s - 1)
        self.hashes = None
        self._in_place(row, s, at, h)

    def _behind(self, row: int, s: int, prev: bytes, h: bytes) -> None:
        if self.missing.take(s):
            self.problems.add(
                "reordered", f"entry {s} found at row {row}, after entry {self.a}", seq=s, row=row
            )
            return
        if s in self.displaced:
            self.problems.add("inserted", f"row {row} repeats entry {s}: inserted", seq=s, row=row)
            return
        pb = self.problems.add("inserted", f"row {row} repeats entry {s}: inserted", seq=s, row=row)
        if s == self.a and self.hashes is not None:  # a fork: two rows claim the same place
            self.fork = (s, self.a_row, h, pb)
            self.hashes = (*self.hashes, h)

    def _skip_displaced(self, nxt: _Parsed | None) -> None:
        nxt_seq = nxt[1] if nxt is not None else None
        while self.a + 1 in self.displaced and nxt_seq != self.a + 1:
            row, h, _pb = self.displaced.pop(self.a + 1)
            self.a, self.hashes, self.a_row = self.a + 1, (h,), row
            self.head = h

    def finish(self) -> None:
        for lo, hi in self.missing.ranges():
            if lo > self.a:
                continue
            hi = min(hi, self.a)
            what = f"entry {lo} is" if lo == hi else f"entries {lo}..{hi} are"
            self.problems.add("deleted", f"{what} missing", seq=lo, last_seq=hi)


def _load_targets(
    notes: Iterable[tuple[str, str]],
    verifier: VerifierKey,
    external: bool,
    targets: _Targets,
    problems: _Problems,
) -> int:
    checked = 0
    for label, note in notes:
        checked += 1
        try:
            checkpoint = open_checkpoint(note, verifier)
        except InvalidCheckpoint as exc:
            try:
                size: int | None = parse_checkpoint(note)[0].size
            except InvalidCheckpoint:
                size = None
            problems.add("bad_signature", f"checkpoint {label}: {exc}", seq=size)
            continue
        targets.add(checkpoint.size, label, external, checkpoint.root)
    return checked


def _report_checkpoints(targets: _Targets, problems: _Problems, head: int) -> int:
    """Rechained runs (signed root ≠ recomputed head) and truncation; the anchored size."""
    anchored = 0
    for external in (False, True):
        results = sorted((r for r in targets.results if r[0] == external), key=lambda r: r[1])
        last_match = 0
        run: list[tuple[bool, int, str, bool]] = []
        for result in [*results, (external, 0, "", True)]:
            if not result[3]:
                run.append(result)
                continue
            if run:
                where = "exported" if external else "stored"
                first = run[0]
                more = f" (and {len(run) - 1} later checkpoints)" if len(run) > 1 else ""
                problems.add(
                    "rechained",
                    f"{where} checkpoint {first[2]} signs a different head at size {first[1]}"
                    f"{more}: the chain was rewritten between entries {last_match + 1} and "
                    f"{first[1]}",
                    seq=last_match + 1,
                    last_seq=first[1],
                )
                run = []
            if result[1]:
                last_match = result[1]
                if external:
                    anchored = max(anchored, result[1])
    size, label = targets.max_size
    if size > head:
        problems.add(
            "truncated",
            f"the log ends at entry {head} but checkpoint {label} signs {size} entries",
            seq=head + 1,
            last_seq=size,
        )
    return anchored


def verify_rows(
    rows: Iterable[Row],
    *,
    verifier: VerifierKey,
    checkpoints: Iterable[tuple[str, str]] = (),
    external: Iterable[tuple[str, str]] = (),
) -> VerifyReport:
    """Verify stored rows against the stored and the exported (label, note) checkpoints."""
    started = time.perf_counter()
    problems = _Problems()
    targets = _Targets()
    stored_count = _load_targets(checkpoints, verifier, False, targets, problems)
    external_count = _load_targets(external, verifier, True, targets, problems)
    walker = _Walker(targets, problems)
    cur: _Parsed | None = None
    for nxt in _parse(rows):
        if cur is not None:
            walker.feed(cur, nxt)
        cur = nxt
    if cur is not None:
        walker.feed(cur, None)
    walker.finish()
    anchored = _report_checkpoints(targets, problems, walker.a)
    warnings: list[str] = []
    if external_count == 0:
        warnings.append(
            "no exported checkpoints: a truncated tail or a fully re-written chain cannot "
            "be detected without them"
        )
    if problems.dropped:
        warnings.append(f"{problems.dropped} further problems not listed")
    return VerifyReport(
        ok=not problems.items and not problems.dropped,
        entries=walker.rows,
        head_seq=walker.a,
        head_hash=walker.head.hex(),
        checkpoints_checked=stored_count,
        external_checkpoints_checked=external_count,
        anchored_size=anchored,
        problems=problems.items,
        warnings=warnings,
        seconds=round(time.perf_counter() - started, 3),
    )


def verify(
    log: AuditLog,
    *,
    public_key: VerifierKey | Path | None = None,
    external_checkpoints_dir: Path | None = None,
    chunk: int = 50_000,
) -> VerifyReport:
    """Verify a log in place; the key is pinned explicitly or taken from the export folder.

    Checkpoints are read before the rows, so a writer appending meanwhile can only add
    rows beyond what they sign, never make the log look truncated.
    """
    export = CheckpointExport(external_checkpoints_dir) if external_checkpoints_dir else None
    if isinstance(public_key, Path):
        verifier: VerifierKey | None = VerifierKey.from_file(public_key)
    else:
        verifier = public_key if public_key is not None else (export.verifier() if export else None)
    if verifier is None:
        raise ConfigError(
            "no public key to verify with: pass one, or an export folder holding audit-log.vkey"
        )
    return verify_rows(
        log.iter_rows(chunk=chunk),
        verifier=verifier,
        checkpoints=log.checkpoint_notes(),
        external=export.notes() if export else (),
    )
