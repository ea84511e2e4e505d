"""Signed checkpoints of the chain head, and their second home off the database.

A hash chain alone cannot reveal a truncated tail or a chain recomputed from scratch:
whoever can write the database can do both consistently. What they cannot do without the
signing key is produce a signature over a *different* head, and what they cannot reach
(if the operator puts it on another host, a WORM bucket or a mounted object-lock volume)
is the exported copy. So every N entries or T minutes the writer signs
``(origin, size, head hash)`` and appends it to an export directory; the verifier pins
the public key and checks the recomputed chain against every signed size.

The format is the C2SP `tlog-checkpoint` signed note (https://c2sp.org/tlog-checkpoint,
https://c2sp.org/signed-note): origin line, decimal size, base64 root hash, a blank line,
then ``— <key name> <base64(key id ‖ Ed25519 signature)>``. Our "root" is the chain head
(``hash`` of entry `size`), not a Merkle root; the note format does not care, and other
tools can still check the signature.

Exports are one file per checkpoint, written to a temporary name, fsynced, renamed and
the directory fsynced, so a crash never leaves a half-written checkpoint; files are never
rewritten (an existing file with different content is reported, not replaced).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from leadbridge.audit.keys import VerifierKey
from leadbridge.core.errors import ConfigError, StateError

__all__ = [
    "VKEY_FILE",
    "Checkpoint",
    "CheckpointExport",
    "InvalidCheckpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "sign_checkpoint",
]

VKEY_FILE = "audit-log.vkey"
_SIG_PREFIX = "\u2014 "
_FILE_RE = re.compile(r"^checkpoint-(\d{12,})\.note$")


class InvalidCheckpoint(ValueError):
    """A checkpoint note that is malformed or whose signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed claim: the log called `origin` had `size` entries and this head hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The signed body of the note (three lines, each ending in LF)."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The full signed note; the key name is the origin (one key name per log)."""
    body = checkpoint.text()
    verifier = VerifierKey.for_signer(checkpoint.origin, key)
    signature = key.sign(body.encode())
    blob = base64.b64encode(verifier.key_id + signature).decode()
    return f"{body}\n{_SIG_PREFIX}{checkpoint.origin} {blob}\n"


def parse_checkpoint(note: str) -> tuple[Checkpoint, list[tuple[str, bytes]]]:
    """Split a note into its checkpoint and its (key name, key id ‖ signature) lines."""
    text, sep, sig_block = note.partition("\n\n")
    if not sep:
        raise InvalidCheckpoint("no signature block")
    lines = text.split("\n")
    if len(lines) < 3 or not lines[0]:
        raise InvalidCheckpoint("fewer than three checkpoint lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise InvalidCheckpoint("size is not a canonical decimal")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise InvalidCheckpoint("root hash is not base64") from exc
    if len(root) != 32:
        raise InvalidCheckpoint("root hash is not 32 bytes")
    signatures: list[tuple[str, bytes]] = []
    for line in sig_block.split("\n"):
        if not line:
            continue
        if not line.startswith(_SIG_PREFIX):
            raise InvalidCheckpoint("malformed signature line")
        name, _, blob = line[len(_SIG_PREFIX) :].rpartition(" ")
        try:
            signatures.append((name, base64.b64decode(blob, validate=True)))
        except binascii.Error as exc:
            raise InvalidCheckpoint("signature is not base64") from exc
    return Checkpoint(origin=origin, size=int(size_text), root=root), signatures


def open_checkpoint(note: str, verifier: VerifierKey) -> Checkpoint:
    """The checkpoint, if `verifier` signed it for its own origin; else InvalidCheckpoint."""
    checkpoint, signatures = parse_checkpoint(note)
    if checkpoint.origin != verifier.name:
        raise InvalidCheckpoint(
            f"origin {checkpoint.origin!r} is not the pinned log {verifier.name!r}"
        )
    body = note.partition("\n\n")[0] + "\n"
    for name, blob in signatures:
        if name != verifier.name or blob[:4] != verifier.key_id or len(blob) != 68:
            continue
        try:
            verifier.public_key.verify(blob[4:], body.encode())
        except InvalidSignature:
            continue
        return checkpoint
    raise InvalidCheckpoint("no valid signature by the pinned key")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class CheckpointExport:
    """The second location: a directory of checkpoint notes plus the pinned public key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _ensure(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create checkpoint export folder {self.directory}: {exc.strerror}"
            ) from exc

    def path_for(self, size: int) -> Path:
        return self.directory / f"checkpoint-{size:012d}.note"

    def write(self, size: int, note: str) -> bool:
        """Write one checkpoint unless already there; True when a file was written."""
        self._ensure()
        path = self.path_for(size)
        if path.exists():
            if path.read_text(encoding="utf-8") != note:
                raise StateError(f"exported checkpoint {path.name} differs from the database's")
            return False
        try:
            _atomic_write(path, note.encode())
        except OSError as exc:
            raise StateError(f"cannot export checkpoint {path.name}: {exc.strerror}") from exc
        return True

    def pin(self, verifier: VerifierKey) -> None:
        """Write the verifier key once; refuse to silently switch to another key."""
        self._ensure()
        path = self.directory / VKEY_FILE
        line = verifier.encode() + "\n"
        if path.exists():
            if path.read_text(encoding="utf-8").strip() != line.strip():
                raise ConfigError(
                    "the export location pins a different audit public key", file=str(path)
                )
            return
        _atomic_write(path, line.encode())

    def verifier(self) -> VerifierKey | None:
        """The pinned key stored with the exports, if any."""
        path = self.directory / VKEY_FILE
        return VerifierKey.from_file(path) if path.exists() else None

    def notes(self) -> list[tuple[str, str]]:
        """(file name, note text) of every exported checkpoint, by size."""
        if not self.directory.is_dir():
            return []
        found = sorted(p for p in self.directory.iterdir() if _FILE_RE.match(p.name))
        out: list[tuple[str, str]] = []
        for path in found:
            try:
                out.append((path.name, path.read_text(encoding="utf-8", errors="replace")))
            except OSError as exc:
                raise StateError(f"cannot read exported checkpoint {path}: {exc.strerror}") from exc
        return out
