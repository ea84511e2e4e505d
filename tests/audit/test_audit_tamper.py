"""Acceptance (issue 6, matrix row 16): 1,000 random mutations of a 100,000-entry log.

Every mutation must be detected *and located*. Local mutations (byte flips, deletions,
swaps, insertions of forged rows) are spread over a few copies of the log, at least ten
rows apart, so one verification pass must report each of them at its own place and
nothing anywhere else. Global mutations (tail truncation, a re-computed chain with or
without re-signing, forged checkpoints) each get their own copy. All go through
`verify_rows`, the same core `leadbridge audit verify` streams the database into.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from leadbridge.audit.checkpoint import Checkpoint, sign_checkpoint
from leadbridge.audit.entry import GENESIS, chain_hash, encode_body
from leadbridge.audit.verifier import Problem, verify_rows

Rows = list[tuple[int, bytes, bytes]]
LOCAL_KINDS = ("flip", "delete", "swap", "insert_fork", "insert_replay", "insert_garbage")
EXPECTED_KIND = {
    "flip": {"edited"},
    "delete": {"deleted"},
    "swap": {"reordered"},
    "insert_fork": {"inserted"},
    "insert_replay": {"inserted"},
    "insert_garbage": {"inserted"},
}
N_LOCAL = 975
LOCAL_BATCHES = 5
N_GLOBAL = 1000 - N_LOCAL


@dataclass
class Mutation:
    kind: str
    seqs: tuple[int, ...]  # the original entries it touches
    row: int | None = None  # for insertions: the row key the forged row ends up under


def locates(problem: Problem, mutation: Mutation, slack: int = 1) -> bool:
    """The problem points at the mutation: by entry number, or by row for insertions."""
    if mutation.row is not None:  # an inserted row must be pointed at exactly
        if problem.row is None:
            return False
        last_row = problem.last_row if problem.last_row is not None else problem.row
        return problem.row <= mutation.row <= last_row
    return any(covers(problem, s, slack) for s in mutation.seqs)


def covers(problem: Problem, seq: int, slack: int = 1) -> bool:
    if problem.seq is None:
        return False
    last = problem.last_seq if problem.last_seq is not None else problem.seq
    return problem.seq - slack <= seq <= last + slack


def renumber(rows: Rows) -> Rows:
    """Row keys as a database would show them after rows were inserted or deleted."""
    return [(i + 1, body, digest) for i, (_key, body, digest) in enumerate(rows)]


def forge_fork(rows: Rows, index: int) -> tuple[bytes, bytes]:
    """A well-formed entry claiming the place of rows[index], chained to its predecessor."""
    doc = orjson.loads(rows[index][1])
    doc["details"] = {"forged": True}
    prev = rows[index - 1][2]
    fields = {k: v for k, v in doc.items() if k not in ("v", "seq", "prev", "at")}
    body = encode_body(seq=doc["seq"], prev=prev, at=doc["at"], fields=fields)
    return body, chain_hash(prev, body)


def apply_local(rows: Rows, rng: random.Random, count: int) -> tuple[Rows, list[Mutation]]:
    """`count` isolated mutations on a copy; positions at least ten rows apart."""
    n = len(rows)
    slots = sorted(rng.sample(range(1, n // 10 - 1), 2 * count))
    positions = [10 * s + rng.randrange(0, 3) for s in slots]
    rng.shuffle(positions)
    mutated: list[tuple[int, bytes, bytes] | None] = list(rows)
    inserts: list[tuple[int, tuple[int, bytes, bytes], Mutation]] = []
    deletes: list[int] = []
    mutations: list[Mutation] = []
    while len(mutations) < count:
        kind = rng.choice(LOCAL_KINDS)
        i = positions.pop()
        seq = i + 1
        if kind == "flip":
            key, body, digest = rows[i]
            raw = bytearray(body)
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            mutated[i] = (key, bytes(raw), digest)
        elif kind == "delete":
            deletes.append(i)
        elif kind == "swap":
            j = positions.pop()
            (ki, bi, hi), (kj, bj, hj) = rows[i], rows[j]
            mutated[i], mutated[j] = (ki, bj, hj), (kj, bi, hi)
            mutations.append(Mutation(kind, (seq, j + 1)))
            continue
        elif kind.startswith("insert"):
            if kind == "insert_fork":
                forged = forge_fork(rows, i)
            elif kind == "insert_replay":
                source = rows[(i + rng.randrange(100, n - 100)) % n]
                forged = (source[1], source[2])
            else:
                forged = (rng.randbytes(rng.randrange(20, 400)), rng.randbytes(32))
            inserts.append((i, (0, *forged), Mutation(kind, (seq,))))
            mutations.append(inserts[-1][2])
            continue
        mutations.append(Mutation(kind, (seq,)))
    for i in deletes:
        mutated[i] = None
    result: list[tuple[int, bytes, bytes]] = []
    extra = {i: (row, mutation) for i, row, mutation in inserts}
    for i, row in enumerate(mutated):
        if i in extra:
            result.append(extra[i][0])
            extra[i][1].row = len(result)
        if row is not None:
            result.append(row)
    return renumber(result), mutations


def test_clean_log_verifies(big_log) -> None:
    report = verify_rows(
        big_log.rows,
        verifier=big_log.verifier,
        checkpoints=big_log.stored,
        external=big_log.external,
    )
    assert report.ok, report.problems[:5]
    assert report.entries == report.head_seq == 100_000
    assert report.anchored_size == 100_000
    assert report.external_checkpoints_checked == len(big_log.external) >= 100


def test_local_mutations_all_detected_and_located(big_log) -> None:
    rng = random.Random(20260301)
    detected = 0
    total = 0
    failures: list[str] = []
    per_batch = N_LOCAL // LOCAL_BATCHES
    for _batch in range(LOCAL_BATCHES):
        rows, mutations = apply_local(big_log.rows, rng, per_batch)
        report = verify_rows(
            rows,
            verifier=big_log.verifier,
            checkpoints=big_log.stored,
            external=big_log.external,
        )
        assert not report.ok
        for mutation in mutations:
            total += 1
            hits = [p for p in report.problems if locates(p, mutation)]
            if not hits or not {p.kind for p in hits} & EXPECTED_KIND[mutation.kind]:
                failures.append(f"{mutation}: {hits}")
                continue
            detected += 1
        for problem in report.problems:
            if not any(locates(problem, m, slack=2) for m in mutations):
                failures.append(f"false alarm {problem}")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} failures)"
    assert detected == total == N_LOCAL


def rechain(rows: Rows, start: int, *, edit: bool = True) -> Rows:
    """An attacker with database access rewrites entry `start` and every hash after it."""
    out: Rows = list(rows[:start])
    prev = out[-1][2] if out else GENESIS
    for k, (key, body, _digest) in enumerate(rows[start:]):
        doc = orjson.loads(body)
        if edit and k == 0:
            doc["reason"] = "nothing to see here"
        fields = {f: v for f, v in doc.items() if f not in ("v", "seq", "prev", "at")}
        new_body = encode_body(seq=doc["seq"], prev=prev, at=doc["at"], fields=fields)
        prev = chain_hash(prev, new_body)
        out.append((key, new_body, prev))
    return out


def resign(rows: Rows, notes: list[tuple[str, str]], key: Ed25519PrivateKey, origin: str):
    """Stored checkpoints re-signed over the rewritten chain with the attacker's key."""
    out = []
    for label, _note in notes:
        size = int(label.split("@")[1])
        if size <= len(rows):
            cp = Checkpoint(origin=origin, size=size, root=rows[size - 1][2])
            out.append((label, sign_checkpoint(cp, key)))
    return out


def test_global_mutations_all_detected(big_log) -> None:
    rng = random.Random(6)
    rows0, stored, external, verifier = (
        big_log.rows,
        big_log.stored,
        big_log.external,
        big_log.verifier,
    )
    attacker = Ed25519PrivateKey.generate()
    detected = 0
    for case in range(N_GLOBAL):
        variant = case % 5
        if variant == 0:  # tail truncation, stored checkpoints beyond the cut removed too
            cut = rng.randrange(50_000, 100_000)
            rows = rows0[:cut]
            kept = [(label, n) for label, n in stored if int(label.split("@")[1]) <= cut]
            report = verify_rows(rows, verifier=verifier, checkpoints=kept, external=external)
            assert [p.kind for p in report.problems] == ["truncated"], report.problems
            assert report.problems[0].seq == cut + 1
            assert report.problems[0].last_seq == 100_000
        elif variant in (1, 2, 3):
            start = rng.randrange(1_000, 99_000)
            rows = rechain(rows0, start)
            if variant == 1:  # not re-signed: the stored checkpoints already disagree
                report = verify_rows(rows, verifier=verifier, checkpoints=stored)
                kinds = {p.kind for p in report.problems}
                assert kinds == {"rechained"}, report.problems
            elif variant == 2:  # re-signed with another key, exported copies intact
                forged = resign(rows, stored, attacker, verifier.name)
                report = verify_rows(rows, verifier=verifier, checkpoints=forged, external=external)
                kinds = {p.kind for p in report.problems}
                assert kinds == {"bad_signature", "rechained"}, kinds
            else:  # stored checkpoints wiped: only the second location remains
                report = verify_rows(rows, verifier=verifier, checkpoints=[], external=external)
                assert {p.kind for p in report.problems} == {"rechained"}
            located = [p for p in report.problems if p.kind == "rechained"]
            assert any(covers(p, start + 1, slack=0) for p in located), (start, located)
            assert all(p.last_seq - p.seq < 1_000 for p in located)  # within one interval
        else:  # a forged exported checkpoint: valid-looking note, wrong signature
            size = rng.randrange(1, 100_000)
            cp = Checkpoint(origin=verifier.name, size=size, root=rng.randbytes(32))
            note = sign_checkpoint(cp, attacker)
            if rng.random() < 0.5:  # or a genuine note whose root was edited
                _label, genuine = rng.choice(external)
                lines = genuine.split("\n")
                lines[2] = base64.b64encode(rng.randbytes(32)).decode()
                note = "\n".join(lines)
            report = verify_rows(
                rows0,
                verifier=verifier,
                checkpoints=stored,
                external=[*external, ("forged.note", note)],
            )
            assert [p.kind for p in report.problems] == ["bad_signature"]
        assert not report.ok
        detected += 1
    assert detected == N_GLOBAL


@pytest.mark.parametrize("where", ["first", "last"])
def test_edges_of_the_chain(big_log, where: str) -> None:
    rows = list(big_log.rows)
    index = 0 if where == "first" else len(rows) - 1
    key, body, digest = rows[index]
    rows[index] = (
        key,
        body.replace(b'"actor":"leadbridge-sync"', b'"actor":"someone-else"'),
        digest,
    )
    report = verify_rows(rows, verifier=big_log.verifier, checkpoints=big_log.stored)
    assert [(p.kind, p.seq) for p in report.problems] == [("edited", index + 1)]
    deleted = verify_rows(
        rows[:index] + rows[index + 1 :], verifier=big_log.verifier, checkpoints=big_log.stored
    )
    expected = "deleted" if where == "first" else "truncated"
    assert [p.kind for p in deleted.problems] == [expected]
    assert deleted.problems[0].seq == index + 1
