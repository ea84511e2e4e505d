"""`leadbridge audit …` end to end on real SQLite files, tampered with plain SQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from leadbridge.audit import AuditKeys, AuditLog
from leadbridge.audit.entry import chain_hash, encode_body
from leadbridge.cli.audit import register

runner = CliRunner()
N = 3000


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


@pytest.fixture(scope="module")
def small_log(tmp_path_factory, make_events, clock_type) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli-audit")
    keys = AuditKeys.from_dir(base / "keys", env={})
    log = AuditLog.open(
        base / "audit.db",
        keys,
        export_dir=base / "anchors",
        checkpoint_every=250,
        clock=clock_type(),
    )
    for start in range(0, N, 500):
        log.record(make_events(500, start=start))
    log.close()
    return {"db": base / "audit.db", "keys": base / "keys", "anchors": base / "anchors"}


def tampered(small_log: dict[str, Path], tmp_path: Path, *sql: tuple[str, tuple]) -> Path:
    db = tmp_path / "copy.db"
    shutil.copy(small_log["db"], db)
    with sqlite3.connect(db) as conn:
        for statement, params in sql:
            conn.execute(statement, params)
    return db


def row(db: Path, seq: int) -> tuple[bytes, bytes]:
    with sqlite3.connect(db) as conn:
        body, digest = conn.execute(
            "SELECT body, hash FROM lb_audit_entries WHERE seq = ?", (seq,)
        ).fetchone()
    return bytes(body), bytes(digest)


def run_verify(db: Path, anchors: Path, *extra: str):
    return runner.invoke(
        cli(), ["audit", "verify", "--db", str(db), "--checkpoints", str(anchors), *extra]
    )


def test_clean_log_verifies_with_exit_0(small_log) -> None:
    result = run_verify(small_log["db"], small_log["anchors"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: {N} entries")
    as_json = run_verify(small_log["db"], small_log["anchors"], "--json")
    report = json.loads(as_json.stdout)
    assert report["ok"]
    assert report["anchored_size"] == N
    assert report["head_seq"] == N


def flip(db_path: Path, seq: int) -> tuple[str, tuple]:
    body, _ = row(db_path, seq)
    raw = bytearray(body)
    raw[len(raw) // 2] ^= 0x20
    return "UPDATE lb_audit_entries SET body = ? WHERE seq = ?", (bytes(raw), seq)


def test_each_tampering_is_reported_with_its_place(small_log, tmp_path: Path) -> None:
    db0 = small_log["db"]
    b1200, h1200 = row(db0, 1200)
    b2100, h2100 = row(db0, 2100)
    cases = {
        "edited at entry 777": [flip(db0, 777)],
        "deleted at entry 1500": [("DELETE FROM lb_audit_entries WHERE seq = ?", (1500,))],
        "reordered at entry 2100": [
            ("UPDATE lb_audit_entries SET body = ?, hash = ? WHERE seq = ?", (b2100, h2100, 1200)),
            ("UPDATE lb_audit_entries SET body = ?, hash = ? WHERE seq = ?", (b1200, h1200, 2100)),
        ],
        "truncated at entry 2901..3000": [
            ("DELETE FROM lb_audit_entries WHERE seq > ?", (2900,)),
            ("DELETE FROM lb_audit_checkpoints WHERE size > ?", (2900,)),
        ],
        "inserted at entry 1200": [
            (
                "INSERT INTO lb_audit_entries (seq, body, hash) VALUES (?, ?, ?)",
                (N + 1, b1200, h1200),
            ),
        ],
    }
    for expected, statements in cases.items():
        db = tampered(small_log, tmp_path, *statements)
        result = run_verify(db, small_log["anchors"])
        assert result.exit_code == 1, (expected, result.output)
        assert "TAMPERING DETECTED" in result.output
        assert f"  {expected}" in result.output, (expected, result.output)
        db.unlink()


def rewrite_from(db: Path, start: int) -> None:
    """Edit entry `start` and recompute every later hash, as an insider would."""
    with sqlite3.connect(db) as conn:
        (prev,) = conn.execute(
            "SELECT hash FROM lb_audit_entries WHERE seq = ?", (start - 1,)
        ).fetchone()
        rows = conn.execute(
            "SELECT seq, body FROM lb_audit_entries WHERE seq >= ? ORDER BY seq", (start,)
        ).fetchall()
        for seq, body in rows:
            doc = orjson.loads(body)
            if seq == start:
                doc["actor"] = "nobody"
            fields = {k: v for k, v in doc.items() if k not in ("v", "seq", "prev", "at")}
            new = encode_body(seq=seq, prev=prev, at=doc["at"], fields=fields)
            prev = chain_hash(prev, new)
            conn.execute(
                "UPDATE lb_audit_entries SET body = ?, hash = ? WHERE seq = ?", (new, prev, seq)
            )


@pytest.mark.parametrize("wipe_stored", [False, True])
def test_rewritten_chain_is_caught_by_signed_checkpoints(small_log, tmp_path, wipe_stored) -> None:
    db = tampered(small_log, tmp_path)
    rewrite_from(db, 1610)
    if wipe_stored:
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM lb_audit_checkpoints")
    result = run_verify(db, small_log["anchors"])
    assert result.exit_code == 1
    where = "exported" if wipe_stored else "stored"
    assert "rechained at entry 1501..1750" in result.output, result.output
    assert f"{where} checkpoint" in result.output
    # without the second location, a wiped-and-rewritten log looks clean: say so
    if wipe_stored:
        bare = runner.invoke(
            cli(),
            [
                "audit",
                "verify",
                "--db",
                str(db),
                "--public-key",
                str(small_log["anchors"] / "audit-log.vkey"),
            ],
        )
        assert bare.exit_code == 0
        assert "no exported checkpoints" in bare.output


def test_usage_errors_are_one_line_exit_2(small_log, tmp_path: Path) -> None:
    missing = runner.invoke(cli(), ["audit", "verify", "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2
    assert missing.output.strip().startswith("error:")
    assert "Traceback" not in missing.output
    no_key = runner.invoke(cli(), ["audit", "verify", "--db", str(small_log["db"])])
    assert no_key.exit_code == 2
    assert "public key" in no_key.output
    other = AuditKeys.from_dir(tmp_path / "other", env={})
    wrong = tmp_path / "wrong.vkey"
    from leadbridge.audit import VerifierKey

    name = (small_log["anchors"] / "audit-log.vkey").read_text().split("+")[0]
    wrong.write_text(VerifierKey.for_signer(name, other.signing_key).encode())
    forged_key = run_verify(small_log["db"], small_log["anchors"], "--public-key", str(wrong))
    assert forged_key.exit_code == 1
    assert "bad_signature" in forged_key.output


def test_checkpoint_export_and_show(small_log, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(small_log["db"], db)
    second = tmp_path / "second-location"
    exported = runner.invoke(
        cli(),
        [
            "audit",
            "export-checkpoints",
            "--db",
            str(db),
            "--to",
            str(second),
            "--public-key",
            str(small_log["anchors"] / "audit-log.vkey"),
        ],
    )
    assert exported.exit_code == 0, exported.output
    assert exported.output.startswith(f"{N // 250} checkpoint(s) exported")
    again = runner.invoke(
        cli(), ["audit", "export-checkpoints", "--db", str(db), "--to", str(second)]
    )
    assert again.output.startswith("0 checkpoint(s)")

    shown = runner.invoke(
        cli(),
        [
            "audit",
            "show",
            "--db",
            str(db),
            "--key-dir",
            str(small_log["keys"]),
            "--subject",
            "hubspot:10",
            "--decrypt",
            "--actor",
            "auditor@controller",
            "--json",
        ],
    )
    assert shown.exit_code == 0, shown.output
    entries = json.loads(shown.stdout)
    assert entries
    assert all(e["personal_state"] == "decrypted" for e in entries)
    assert entries[0]["personal"]["record_id"] == "10"

    signed = runner.invoke(
        cli(),
        [
            "audit",
            "checkpoint",
            "--db",
            str(db),
            "--key-dir",
            str(small_log["keys"]),
            "--checkpoints",
            str(second),
        ],
    )
    assert signed.exit_code == 0, signed.output
    assert f"signed checkpoint at size {N + 1}" in signed.output  # the read was audited
    result = run_verify(db, second)
    assert result.exit_code == 0, result.output
    assert f"anchored up to {N + 1}" in result.output
