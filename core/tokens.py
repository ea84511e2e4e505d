"""OAuth tokens encrypted at rest, refreshed once per expiry across threads *and* processes.

Storage is one SQLite file for every connection: a save is one transaction
(``synchronous=FULL``), so a rotated refresh token is durable *before* it is used, and
`auth status` lists status and expiry without the key (neither is a secret). The token
itself is Fernet-encrypted JSON (AES-CBC + HMAC: a wrong key or an edited row fails
loudly); the plaintext names its connection, so rows cannot be swapped between
connections. A directory of files would need temp + fsync + rename + directory fsync per
write and a scan per listing, for no gain.

The key comes from, in order: ``LEADBRIDGE_TOKEN_KEY`` (a Fernet key, or several
comma-separated, newest first, during a rotation); an explicit key file; the OS keyring
(the optional `keyring` package with a real backend); or a ``0600`` key file, created on
first use. A key file readable by group or others is refused. `rotate_key` re-encrypts
every row with `MultiFernet`.

Cross-process single flight: `LockedTokenSource` holds a thread lock and an
``fcntl.flock`` on a per-connection lock file next to the store (Linux and macOS) around
"reload, refresh if still stale, persist". The kernel drops a flock when its holder dies,
so a SIGKILL never wedges the lock. See `LockedTokenSource` for the rotation crash window.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, ConfigDict

from leadbridge.core.auth import OAuth2TokenSource, OAuthToken, TokenPersister
from leadbridge.core.errors import AuthError, ConfigError, NeedsReauth, StateError
from leadbridge.core.redaction import redact, register_secret

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "ConnectionStatus",
    "EncryptedTokenStore",
    "EnvKeySource",
    "FileKeySource",
    "KeySource",
    "KeyringKeySource",
    "LockedTokenSource",
    "TokenRecord",
    "default_key_file",
    "list_connections",
    "oauth_token_source",
    "resolve_key_source",
]

log = logging.getLogger("leadbridge.core.tokens")

KEY_ENV = "LEADBRIDGE_TOKEN_KEY"
KEY_FILE_ENV = "LEADBRIDGE_TOKEN_KEY_FILE"
KEYRING_SERVICE = "leadbridge"
KEYRING_USER = "token-store-key"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    connection TEXT PRIMARY KEY,
    ciphertext BLOB,
    status TEXT NOT NULL DEFAULT 'ok',
    reason TEXT,
    expires_at REAL,
    refresh_started_at REAL,
    updated_at REAL NOT NULL
)
"""


# -- keys --------------------------------------------------------------------------------


def _parse_keys(text: str, where: str) -> list[bytes]:
    keys = [part.strip().encode() for part in re.split(r"[,\s]+", text) if part.strip()]
    if not keys:
        raise ConfigError("no Fernet key found", file=where)
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError("not a Fernet key (32 url-safe base64 bytes)", file=where) from None
    register_secret(*(k.decode() for k in keys))
    return keys


class KeySource(Protocol):
    """Where the Fernet keys live; `current_keys()` is newest first (the first one encrypts)."""

    name: str
    writable: bool

    def current_keys(self) -> list[bytes]:
        """The current keys, newest first; creates a key when the source is new."""

    def install(self, keys: Sequence[bytes]) -> None:
        """Replace the stored keys (newest first); `ConfigError` when read-only."""


class EnvKeySource:
    """``LEADBRIDGE_TOKEN_KEY``: read-only, the operator rotates it by hand."""

    writable = False

    def __init__(self, var: str = KEY_ENV, environ: Mapping[str, str] | None = None) -> None:
        self.var = var
        self.name = f"environment variable {var}"
        self._environ = os.environ if environ is None else environ

    def current_keys(self) -> list[bytes]:
        return _parse_keys(self._environ.get(self.var, ""), self.var)

    def install(self, keys: Sequence[bytes]) -> None:
        raise ConfigError(
            "the key comes from the environment: put the new key first in it "
            "(comma-separated with the old one), rotate, then drop the old key",
            key=self.var,
        )


class FileKeySource:
    """A key file only its owner can read (``0600``), created on first use."""

    writable = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.name = f"key file {self.path}"

    def current_keys(self) -> list[bytes]:
        if not self.path.exists():
            self._write([Fernet.generate_key()], exclusive=True)
        info = self.path.stat()
        if info.st_mode & 0o077:
            raise ConfigError(
                f"key file is readable by group or others (mode {info.st_mode & 0o777:o}): "
                f"run `chmod 600 {self.path}`",
                file=str(self.path),
            )
        if info.st_uid != os.getuid():
            raise ConfigError("key file belongs to another user", file=str(self.path))
        return _parse_keys(self.path.read_text(encoding="ascii"), str(self.path))

    def install(self, keys: Sequence[bytes]) -> None:
        self._write(keys, exclusive=False)

    def _write(self, keys: Sequence[bytes], *, exclusive: bool) -> None:
        """Temp file, fsync, then rename (or link: a first key never overwrites a rival's)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\n".join(keys) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, self.path)
            os.unlink(tmp)
        else:
            os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)


class KeyringKeySource:
    """The OS keyring through the optional `keyring` package."""

    writable = True

    def __init__(self, service: str = KEYRING_SERVICE, username: str = KEYRING_USER) -> None:
        self.service = service
        self.username = username
        self.name = f"OS keyring ({service}/{username})"
        self._keyring = _keyring_module()
        if self._keyring is None:
            raise ConfigError("the OS keyring is not usable (install `keyring` with a backend)")

    def stored(self) -> str | None:
        """The stored key text, or None when the keyring holds none yet."""
        value = self._call("get_password", self.service, self.username)
        return str(value) if value else None

    def _call(self, name: str, *args: str) -> Any:
        try:
            return getattr(self._keyring, name)(*args)
        except Exception as exc:  # noqa: BLE001 - backends raise their own types (dbus, ...)
            raise ConfigError(f"the {self.name} failed: {type(exc).__name__}") from None

    def current_keys(self) -> list[bytes]:
        text = self.stored()
        if text is None:
            self.install([Fernet.generate_key()])
            text = self.stored() or ""
        return _parse_keys(text, self.name)

    def install(self, keys: Sequence[bytes]) -> None:
        self._call("set_password", self.service, self.username, b",".join(keys).decode())


def _keyring_module() -> Any:
    """The `keyring` module when installed *and* backed by a real store, else None."""
    try:
        module: Any = importlib.import_module("keyring")
    except ImportError:
        return None
    try:
        backend = module.get_keyring()
        priority = float(getattr(backend, "priority", 0))
    except Exception:  # noqa: BLE001 - a broken backend means "not usable", whatever it raises
        return None
    if priority <= 0 or type(backend).__module__.startswith("keyring.backends.fail"):
        return None
    return module


def default_key_file() -> Path:
    """``$XDG_CONFIG_HOME/leadbridge/token.key`` (``~/.config/...``): off the token DB."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "leadbridge" / "token.key"


def resolve_key_source(
    *,
    key_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> KeySource:
    """Env var, then an explicit key file, then the keyring, then the default key file.

    An existing key is never orphaned: a keyring that holds no key yet does not win over
    a default key file that already exists (the store was encrypted with that one).
    """
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        return EnvKeySource(KEY_ENV, env)
    explicit = key_file or env.get(KEY_FILE_ENV)
    if explicit:
        return FileKeySource(explicit)
    default = default_key_file()
    keyring_source: KeyringKeySource | None = None
    if use_keyring and _keyring_module() is not None:
        keyring_source = KeyringKeySource()
        if keyring_source.stored() is not None or not default.exists():
            return keyring_source
    if keyring_source is None:
        log.info("OS keyring not usable; token key kept in %s (mode 0600)", default)
    return FileKeySource(default)


# -- the store ---------------------------------------------------------------------------


class ConnectionStatus(BaseModel):
    """One connection's row, without the token: safe to print."""

    model_config = ConfigDict(frozen=True)

    connection: str
    status: Literal["ok", "needs_reauth"]
    reason: str | None = None
    has_token: bool
    expires_at: datetime | None = None
    updated_at: datetime
    refresh_started_at: datetime | None = None
    """Set while a refresh is in flight; still set after a crash (outcome unknown)."""


class TokenRecord(BaseModel):
    """A connection's status plus its decrypted token (never print the token)."""

    model_config = ConfigDict(frozen=True)

    status: ConnectionStatus
    token: OAuthToken | None


def _stamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _status(row: sqlite3.Row) -> ConnectionStatus:
    return ConnectionStatus(
        connection=row["connection"],
        status="needs_reauth" if row["status"] == "needs_reauth" else "ok",
        reason=row["reason"],
        has_token=row["ciphertext"] is not None,
        expires_at=_stamp(row["expires_at"]),
        updated_at=_stamp(row["updated_at"]) or datetime.now(UTC),
        refresh_started_at=_stamp(row["refresh_started_at"]),
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous=FULL")
    return conn


@contextlib.contextmanager
def _transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction: committed whole or not at all."""
    conn = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def list_connections(path: str | Path) -> list[ConnectionStatus]:
    """Every connection in a store file, by name; needs no key (nothing secret is read)."""
    file = Path(path)
    if not file.exists():
        return []
    conn = sqlite3.connect(file, timeout=30.0)
    conn.row_factory = sqlite3.Row
    try:
        known = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'tokens'").fetchone()
        rows = conn.execute("SELECT * FROM tokens ORDER BY connection").fetchall() if known else []
    except sqlite3.DatabaseError as exc:
        raise StateError(f"token store {file} is unreadable: {exc}") from None
    finally:
        conn.close()
    return [_status(row) for row in rows]


class EncryptedTokenStore:
    """A `TokenPersister` for one connection, in a shared encrypted SQLite file."""

    def __init__(
        self,
        path: str | Path,
        key_source: KeySource,
        *,
        connection: str,
        lock_timeout_s: float = 120.0,
    ) -> None:
        self.path = Path(path).expanduser()
        self.key_source = key_source
        self.connection = connection
        self.lock_timeout_s = lock_timeout_s
        self._fernet: MultiFernet | None = None
        self._create()
        self._keys()  # a missing or unsafe key fails now, not after a browser login

    # -- files ---------------------------------------------------------------------------

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        if self.path.stat().st_uid == os.getuid():
            os.chmod(self.path, 0o600)  # journals inherit the database file's mode
        try:
            with _transaction(self.path) as conn:
                conn.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"token store {self.path} is unusable: {exc}") from None

    @property
    def lock_path(self) -> Path:
        """The flock file of this connection, in ``<store>.locks/``."""
        name = self.connection
        if not _SAFE_NAME.match(name):
            name = hashlib.sha256(name.encode()).hexdigest()[:32]
        return self.path.with_name(f"{self.path.name}.locks") / f"{name}.lock"

    @contextlib.contextmanager
    def refresh_lock(self) -> Iterator[None]:
        """Exclusive across processes (and across open stores in one process)."""
        self.lock_path.parent.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise AuthError(
                            f"another process held the token lock for {self.lock_timeout_s:.0f} s",
                            connector=self.connection,
                        ) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    # -- crypto --------------------------------------------------------------------------

    def _keys(self, *, fresh: bool = False) -> MultiFernet:
        if self._fernet is None or fresh:
            self._fernet = MultiFernet([Fernet(k) for k in self.key_source.current_keys()])
        return self._fernet

    def _encrypt(self, token: OAuthToken) -> bytes:
        envelope = {"connection": self.connection, "token": token.model_dump(mode="json")}
        return self._keys(fresh=True).encrypt(json.dumps(envelope).encode())

    def _decrypt(self, ciphertext: bytes) -> OAuthToken:
        try:
            try:
                plain = self._keys().decrypt(ciphertext)
            except InvalidToken:
                plain = self._keys(fresh=True).decrypt(ciphertext)  # rotated meanwhile?
        except InvalidToken as exc:
            raise StateError(
                f"token store {self.path}: cannot decrypt {self.connection!r} with the "
                f"{self.key_source.name} (wrong key?)"
            ) from exc
        envelope = json.loads(plain)
        if envelope.get("connection") != self.connection:
            raise StateError(f"token store {self.path}: row {self.connection!r} was tampered with")
        token = OAuthToken.model_validate(envelope["token"])
        register_secret(token.access_token, token.refresh_token)
        return token

    # -- rows ----------------------------------------------------------------------------

    def _row(self) -> sqlite3.Row | None:
        conn = _connect(self.path)
        try:
            row: sqlite3.Row | None = conn.execute(
                "SELECT * FROM tokens WHERE connection = ?", (self.connection,)
            ).fetchone()
            return row
        finally:
            conn.close()

    def record(self) -> TokenRecord | None:
        """Status and decrypted token, read fresh from disk (None: never stored)."""
        row = self._row()
        if row is None:
            return None
        token = None if row["ciphertext"] is None else self._decrypt(row["ciphertext"])
        return TokenRecord(status=_status(row), token=token)

    def status(self) -> ConnectionStatus | None:
        """The status row of this connection, decrypting nothing."""
        row = self._row()
        return None if row is None else _status(row)

    # -- TokenPersister ------------------------------------------------------------------

    def load(self) -> OAuthToken | None:
        """The stored token; None when absent or when the connection needs re-auth."""
        current = self.record()
        if current is None or current.status.status == "needs_reauth":
            return None
        return current.token

    def save(self, token: OAuthToken) -> None:
        """Encrypt and commit in one durable transaction; clears needs-reauth and markers."""
        now = time.time()
        with _transaction(self.path) as conn:
            conn.execute(
                "INSERT INTO tokens (connection, ciphertext, status, reason, expires_at,"
                " refresh_started_at, updated_at) VALUES (?, ?, 'ok', NULL, ?, NULL, ?)"
                " ON CONFLICT(connection) DO UPDATE SET ciphertext = excluded.ciphertext,"
                " status = 'ok', reason = NULL, expires_at = excluded.expires_at,"
                " refresh_started_at = NULL, updated_at = excluded.updated_at",
                (self.connection, self._encrypt(token), token.expires_at, now),
            )

    def mark_needs_reauth(self, reason: str) -> None:
        """Record the dead grant and drop its ciphertext: nothing left worth retrying."""
        with _transaction(self.path) as conn:
            conn.execute(
                "INSERT INTO tokens (connection, ciphertext, status, reason, updated_at)"
                " VALUES (?, NULL, 'needs_reauth', ?, ?) ON CONFLICT(connection) DO UPDATE SET"
                " ciphertext = NULL, status = 'needs_reauth', reason = excluded.reason,"
                " expires_at = NULL, refresh_started_at = NULL, updated_at = excluded.updated_at",
                (self.connection, redact(reason)[:500], time.time()),
            )
        log.warning("%s: marked as needing re-auth: %s", self.connection, redact(reason))

    def begin_refresh(self) -> None:
        """Persist "refresh in flight" before the request: a crash leaves it set."""
        with _transaction(self.path) as conn:
            conn.execute(
                "UPDATE tokens SET refresh_started_at = ? WHERE connection = ?",
                (time.time(), self.connection),
            )

    def delete(self) -> None:
        """Forget this connection (logout)."""
        with _transaction(self.path) as conn:
            conn.execute("DELETE FROM tokens WHERE connection = ?", (self.connection,))

    def rotate_key(self, new_key: bytes | None = None) -> int:
        """Re-encrypt every row of the file under `new_key` (or the source's newest key).

        Order keeps every row readable if the process dies at any point: the new key is
        installed next to the old ones, all rows are re-encrypted in one transaction,
        then the old keys are retired. Returns how many rows were re-encrypted.
        """
        old = self.key_source.current_keys()
        if new_key is not None:
            Fernet(new_key)
            register_secret(new_key.decode())
            self.key_source.install([new_key, *[k for k in old if k != new_key]])
        multi = self._keys(fresh=True)
        with _transaction(self.path) as conn:
            rows = conn.execute(
                "SELECT connection, ciphertext FROM tokens WHERE ciphertext IS NOT NULL"
            ).fetchall()
            for row in rows:
                try:
                    rotated = multi.rotate(row["ciphertext"])
                except InvalidToken as exc:
                    raise StateError(
                        f"token store {self.path}: cannot decrypt {row['connection']!r} "
                        "for rotation (wrong key?)"
                    ) from exc
                conn.execute(
                    "UPDATE tokens SET ciphertext = ? WHERE connection = ?",
                    (rotated, row["connection"]),
                )
        if self.key_source.writable:
            self.key_source.install(self.key_source.current_keys()[:1])
            self._keys(fresh=True)
        log.info("token store %s re-encrypted (%d rows)", self.path, len(rows))
        return len(rows)


# -- cross-process single flight ---------------------------------------------------------


class _PinnedPersister:
    """Hands the one-shot source the token read under the lock; writes go to the store."""

    def __init__(self, token: OAuthToken, store: EncryptedTokenStore, note: str) -> None:
        self._token = token
        self._store = store
        self._note = note

    def load(self) -> OAuthToken | None:
        return self._token

    def save(self, token: OAuthToken) -> None:
        self._store.save(token)

    def mark_needs_reauth(self, reason: str) -> None:
        self._store.mark_needs_reauth(f"{reason}{self._note}")


class LockedTokenSource(OAuth2TokenSource):
    """`OAuth2TokenSource` whose refresh is single-flight across processes too.

    Under a thread lock plus the store's flock: reload the row from disk; if another
    process already replaced the stale token, use it without calling the server; else
    persist a "refresh in flight" marker, refresh, and commit the new token before
    anyone uses it. The grant itself is core's (a one-shot `OAuth2TokenSource` seeded
    with the token just read), so error mapping and ``invalid_grant`` handling are shared.

    Rotation crash window (SIGKILL after the server rotated, before the commit): the
    store still holds the superseded refresh token and the marker. A marker seen under
    the lock means its owner died, so the next caller refreshes *at once* with that
    token rather than waiting for the access token to expire. That succeeds when the
    server keeps a superseded refresh token usable while its successor has never been
    presented (a rotation grace window, as Okta and Auth0 offer); a server that revokes
    on any reuse answers ``invalid_grant``, and the connection lands in a clean
    needs-reauth after exactly one refused request, never a retry loop. No client can do
    better: the only copy of the new refresh token died with the process.
    """

    def __init__(
        self,
        *,
        connector: str,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        persister: EncryptedTokenStore,
        leeway_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
        on_refresh: Callable[[OAuthToken], None] | None = None,
    ) -> None:
        super().__init__(
            connector=connector,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            persister=persister,
            leeway_s=leeway_s,
            transport=transport,
            verify=verify,
            on_refresh=on_refresh,
        )
        self.store = persister
        self._grant_transport = transport
        self._grant_verify = verify
        self._notify = on_refresh
        self._guard = threading.Lock()
        self._cached: OAuthToken | None = None

    def _dead(self, reason: str | None) -> NeedsReauth:
        self._cached = None
        why = f" ({reason})" if reason else ""
        return NeedsReauth(
            f"needs re-auth{why}: run `leadbridge auth login`", connector=self.connector
        )

    def current(self) -> OAuthToken:
        """A token valid for at least the leeway; a dead connection fails without a request."""
        token = self._cached
        if token is None:
            row = self.store.record()
            if row is None or row.token is None or row.status.status == "needs_reauth":
                raise self._dead(row.status.reason if row is not None else "no token stored")
            token = self._cached = row.token
            if row.status.refresh_started_at is not None and token.refresh_token:
                return self.refresh(stale_access_token=token.access_token)
        if token.expires_within(self.leeway_s) and token.refresh_token:
            return self.refresh(stale_access_token=token.access_token)
        return token

    def refresh(self, *, stale_access_token: str | None = None) -> OAuthToken:
        """Refresh once for everyone, in every process, holding `stale_access_token`."""
        with self._guard:
            cached = self._cached
            if (
                stale_access_token is not None
                and cached is not None
                and cached.access_token != stale_access_token
            ):
                return cached  # a thread of this process already refreshed
            with self.store.refresh_lock():
                return self._refresh_locked(stale_access_token)

    def _refresh_locked(self, stale: str | None) -> OAuthToken:
        row = self.store.record()
        if row is None or row.status.status == "needs_reauth":
            raise self._dead(row.status.reason if row is not None else "no token stored")
        token = row.token
        if token is None or not token.refresh_token:
            raise self._dead("no refresh token stored")
        interrupted = row.status.refresh_started_at is not None
        if not interrupted and stale is not None and token.access_token != stale:
            self._cached = token  # another process refreshed while we waited
            return token
        note = ""
        if interrupted:
            note = " after an interrupted refresh (the rotated token was never persisted)"
            log.warning("%s: recovering from an interrupted token refresh", self.connector)
        self.store.begin_refresh()
        one_shot = OAuth2TokenSource(
            connector=self.connector,
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            persister=_PinnedPersister(token, self.store, note),
            leeway_s=self.leeway_s,
            transport=self._grant_transport,
            verify=self._grant_verify,
        )
        try:
            fresh = one_shot.refresh()
        except NeedsReauth:
            self._cached = None
            raise
        self._cached = fresh
        self.refreshes += 1
        log.info("%s: access token refreshed", self.connector)
        if self._notify is not None:
            self._notify(fresh)
        return fresh

    def exchange_code(self, code: str, *, code_verifier: str, redirect_uri: str) -> OAuthToken:
        """Trade an authorization code for tokens under the lock; clears needs-reauth."""
        with self._guard, self.store.refresh_lock():
            token = super().exchange_code(
                code, code_verifier=code_verifier, redirect_uri=redirect_uri
            )
            self._cached = token
            return token


def oauth_token_source(
    *,
    connector: str,
    token_url: str,
    client_id: str,
    client_secret: str | None,
    persister: TokenPersister,
    leeway_s: float = 300.0,
    transport: httpx.BaseTransport | None = None,
    verify: bool | str = True,
) -> OAuth2TokenSource:
    """The right token source for a persister.

    Single-flight across processes when the persister is the encrypted store (it owns
    the file lock), across threads otherwise.
    """
    if isinstance(persister, EncryptedTokenStore):
        return LockedTokenSource(
            connector=connector,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            persister=persister,
            leeway_s=leeway_s,
            transport=transport,
            verify=verify,
        )
    return OAuth2TokenSource(
        connector=connector,
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        persister=persister,
        leeway_s=leeway_s,
        transport=transport,
        verify=verify,
    )
