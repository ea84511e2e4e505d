"""The audit log's key material: where it comes from and what is derived from it.

Two secrets, kept apart from the database on purpose (a stolen database alone reveals
no personal value and cannot forge a checkpoint):

- the **master key** (a Fernet key). Two sub-keys are derived from it with HKDF: the
  *pepper* that keys subject pseudonyms (HMAC-SHA256; an unkeyed hash of an email or a
  CRM id is reversible by enumeration) and the *wrapping key* under which every
  per-subject key is stored. One secret to back up, two purposes never sharing a key.
- the **signing key** (Ed25519) that signs checkpoints. Verifiers pin its *public* half.

Each comes from, in order: a value passed in, an environment variable, or a key file
(created on first use with mode 0600 when `create` is set; a file readable by group or
others is refused, as ssh does). Keys never enter logs or error messages.

The public key is written in the C2SP signed-note verifier-key format
(``<name>+<key id hex>+<base64(0x01 ‖ public key)>``), so standard note tooling can check
leadbridge checkpoints too.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from leadbridge.core.errors import ConfigError

__all__ = [
    "MASTER_KEY_ENV",
    "SIGNING_KEY_ENV",
    "AuditKeys",
    "VerifierKey",
    "load_master_key",
    "load_signing_key",
    "write_secret_file",
]

MASTER_KEY_ENV = "LEADBRIDGE_AUDIT_MASTER_KEY"
SIGNING_KEY_ENV = "LEADBRIDGE_AUDIT_SIGNING_KEY"
MASTER_KEY_FILE = "audit-master.key"
SIGNING_KEY_FILE = "audit-signing.key"
_ED25519_ALG = b"\x01"


def write_secret_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 atomically; never overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError("key file already exists; refusing to overwrite", file=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot create key file: {exc.strerror}", file=str(path)) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _read_secret_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"key file is accessible by group/others (mode {stat.S_IMODE(mode):o}); "
                "chmod 600 it",
                file=str(path),
            )
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read key file: {exc.strerror}", file=str(path)) from exc


def load_master_key(
    *,
    value: bytes | str | None = None,
    key_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    create: bool = False,
) -> bytes:
    """The master Fernet key (urlsafe base64, 32 bytes once decoded)."""
    source = "value"
    raw: bytes | None = value.encode() if isinstance(value, str) else value
    environ = os.environ if env is None else env
    if raw is None and environ.get(MASTER_KEY_ENV):
        raw, source = environ[MASTER_KEY_ENV].encode(), MASTER_KEY_ENV
    if raw is None and key_file is not None:
        source = str(key_file)
        if key_file.exists():
            raw = _read_secret_file(key_file).strip()
        elif create:
            raw = Fernet.generate_key()
            write_secret_file(key_file, raw + b"\n")
    if raw is None:
        raise ConfigError(
            f"no audit master key: set {MASTER_KEY_ENV} or provide a key file", key="master_key"
        )
    try:
        Fernet(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError("the audit master key is not a valid Fernet key", file=source) from exc
    return raw


def load_signing_key(
    *,
    value: Ed25519PrivateKey | None = None,
    key_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    create: bool = False,
) -> Ed25519PrivateKey:
    """The Ed25519 checkpoint-signing key (env: base64 of the 32-byte seed; file: PKCS#8 PEM)."""
    if value is not None:
        return value
    environ = os.environ if env is None else env
    if environ.get(SIGNING_KEY_ENV):
        try:
            seed = base64.b64decode(environ[SIGNING_KEY_ENV], validate=True)
            return Ed25519PrivateKey.from_private_bytes(seed)
        except ValueError as exc:
            raise ConfigError(
                "not the base64 of a 32-byte Ed25519 seed", key=SIGNING_KEY_ENV
            ) from exc
    if key_file is None:
        raise ConfigError(
            f"no audit signing key: set {SIGNING_KEY_ENV} or provide a key file", key="signing_key"
        )
    if not key_file.exists():
        if not create:
            raise ConfigError("audit signing key file not found", file=str(key_file))
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_secret_file(key_file, pem)
        return key
    try:
        loaded = serialization.load_pem_private_key(_read_secret_file(key_file), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError("not a PEM private key", file=str(key_file)) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigError("the audit signing key must be Ed25519", file=str(key_file))
    return loaded


@dataclass(frozen=True)
class AuditKeys:
    """Everything the writer needs; the signing key is optional for read/erase-only use."""

    master_key: bytes
    signing_key: Ed25519PrivateKey | None = None

    @classmethod
    def from_dir(
        cls,
        key_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        create: bool = True,
        signing: bool = True,
    ) -> AuditKeys:
        """Keys from env vars, else from `key_dir` (generated there on first use)."""
        master = load_master_key(key_file=key_dir / MASTER_KEY_FILE, env=env, create=create)
        signer = (
            load_signing_key(key_file=key_dir / SIGNING_KEY_FILE, env=env, create=create)
            if signing
            else None
        )
        return cls(master_key=master, signing_key=signer)

    def _derive(self, purpose: bytes) -> bytes:
        material = base64.urlsafe_b64decode(self.master_key)
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
        return hkdf.derive(material)

    def pepper(self) -> bytes:
        """The HMAC key of subject pseudonyms."""
        return self._derive(b"leadbridge.audit.pepper.v1")

    def wrapper(self) -> Fernet:
        """The Fernet that wraps (encrypts) every per-subject key at rest."""
        return Fernet(base64.urlsafe_b64encode(self._derive(b"leadbridge.audit.wrap.v1")))


@dataclass(frozen=True)
class VerifierKey:
    """A pinned Ed25519 public key with its signed-note name and key id."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> bytes:
        """C2SP signed-note key id: the first 4 bytes of SHA-256(name ‖ LF ‖ 0x01 ‖ key)."""
        return hashlib.sha256(self.name.encode() + b"\n" + _ED25519_ALG + self.raw).digest()[:4]

    def encode(self) -> str:
        """``<name>+<key id hex>+<base64(0x01 ‖ key)>``, the note verifier-key line."""
        blob = base64.b64encode(_ED25519_ALG + self.raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def decode(cls, text: str, *, source: str = "public key") -> VerifierKey:
        """Parse a verifier-key line, checking its key id."""
        try:
            name, key_id_hex, blob = text.strip().split("+", 2)
            raw = base64.b64decode(blob, validate=True)
            if not name or raw[:1] != _ED25519_ALG or len(raw) != 33:
                raise ValueError("not an Ed25519 verifier key")
            key = cls(name=name, public_key=Ed25519PublicKey.from_public_bytes(raw[1:]))
            if key.key_id.hex() != key_id_hex.lower():
                raise ValueError("key id does not match the key")
        except ValueError as exc:
            raise ConfigError(f"invalid verifier key: {exc}", file=source) from exc
        return key

    @classmethod
    def from_file(cls, path: Path) -> VerifierKey:
        """Read a pinned verifier key (one line) from a file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read public key: {exc.strerror}", file=str(path)) from exc
        return cls.decode(text, source=str(path))

    @classmethod
    def for_signer(cls, name: str, key: Ed25519PrivateKey) -> VerifierKey:
        """The verifier key matching a signing key under a given note name."""
        return cls(name=name, public_key=key.public_key())
