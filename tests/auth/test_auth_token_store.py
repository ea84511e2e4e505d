"""The encrypted store: ciphertext at rest, key sources, key rotation, status rows."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import pytest
from cryptography.fernet import Fernet, InvalidToken
from keyring.backend import KeyringBackend

from leadbridge.core.auth import OAuthToken
from leadbridge.core.errors import ConfigError, StateError
from leadbridge.core.tokens import (
    EncryptedTokenStore,
    EnvKeySource,
    FileKeySource,
    KeyringKeySource,
    list_connections,
    resolve_key_source,
)

ACCESS = "canary-access-7f3a9c1e5b"
REFRESH = "canary-refresh-2d8e4b6a0f"


def _token(**extra: object) -> OAuthToken:
    return OAuthToken.model_validate(
        {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "expires_at": time.time() + 600,
            **extra,
        }
    )


def _ciphertexts(path) -> dict[str, bytes]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT connection, ciphertext FROM tokens").fetchall())
    finally:
        db.close()


def test_round_trip_and_no_plaintext_at_rest(tmp_path) -> None:
    key_file = tmp_path / "keys" / "token.key"
    store = EncryptedTokenStore(
        tmp_path / "state" / "tokens.db", FileKeySource(key_file), connection="hs"
    )
    store.save(_token(hub_id=42))
    loaded = store.load()
    assert loaded is not None
    assert loaded.access_token == ACCESS
    assert loaded.refresh_token == REFRESH
    assert loaded.model_extra == {"hub_id": 42}
    raw = (tmp_path / "state" / "tokens.db").read_bytes()
    assert ACCESS.encode() not in raw
    assert REFRESH.encode() not in raw
    key = key_file.read_bytes().strip()
    assert key not in raw
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with store.refresh_lock():
        assert stat.S_IMODE(store.lock_path.parent.stat().st_mode) == 0o700


def test_wrong_key_fails_loudly_with_invalid_token_cause(tmp_path) -> None:
    path = tmp_path / "tokens.db"
    one = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()})
    EncryptedTokenStore(path, one, connection="hs").save(_token())
    other = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()})
    with pytest.raises(StateError, match="cannot decrypt 'hs'") as info:
        EncryptedTokenStore(path, other, connection="hs").load()
    assert isinstance(info.value.__cause__, InvalidToken)
    assert "\n" not in str(info.value)


def test_rows_cannot_be_swapped_between_connections(tmp_path) -> None:
    path = tmp_path / "tokens.db"
    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()})
    a = EncryptedTokenStore(path, source, connection="a")
    b = EncryptedTokenStore(path, source, connection="b")
    a.save(_token())
    b.save(_token(access_token="bbbbbbbbbbbb"))
    with sqlite3.connect(path) as db:
        (blob,) = db.execute("SELECT ciphertext FROM tokens WHERE connection='a'").fetchone()
        db.execute("UPDATE tokens SET ciphertext=? WHERE connection='b'", (blob,))
    with pytest.raises(StateError, match="tampered"):
        b.load()


def test_key_file_readable_by_others_is_refused(tmp_path) -> None:
    key_file = tmp_path / "token.key"
    key_file.write_bytes(Fernet.generate_key())
    key_file.chmod(0o644)
    store_path = tmp_path / "tokens.db"
    with pytest.raises(ConfigError, match="chmod 600") as info:
        EncryptedTokenStore(store_path, FileKeySource(key_file), connection="hs").save(_token())
    assert "mode 644" in str(info.value)
    key_file.chmod(0o600)
    EncryptedTokenStore(store_path, FileKeySource(key_file), connection="hs").save(_token())


def test_bad_env_key_is_a_config_error(tmp_path) -> None:
    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": "not-a-key"})
    with pytest.raises(ConfigError, match="LEADBRIDGE_TOKEN_KEY: not a Fernet key"):
        EncryptedTokenStore(tmp_path / "t.db", source, connection="hs").save(_token())


def test_rotate_key_reencrypts_every_row(tmp_path) -> None:
    key_file = tmp_path / "token.key"
    path = tmp_path / "tokens.db"
    stores = [EncryptedTokenStore(path, FileKeySource(key_file), connection=n) for n in "abc"]
    for store in stores:
        store.save(_token())
    old_key = key_file.read_bytes().strip()
    before = {
        r[0]: r[1]
        for r in sqlite3.connect(path).execute("SELECT connection, ciphertext FROM tokens")
    }
    new_key = Fernet.generate_key()
    assert stores[0].rotate_key(new_key) == 3
    assert key_file.read_bytes().strip() == new_key  # old key retired
    after = {
        r[0]: r[1]
        for r in sqlite3.connect(path).execute("SELECT connection, ciphertext FROM tokens")
    }
    for name in "abc":
        assert after[name] != before[name]
        Fernet(new_key).decrypt(after[name])
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(after[name])
    # another store object of the same file, opened before the rotation, still reads
    loaded = stores[2].load()
    assert loaded is not None
    assert loaded.access_token == ACCESS


def test_rotation_with_env_keys_is_operator_driven(tmp_path) -> None:
    path = tmp_path / "tokens.db"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store = EncryptedTokenStore(
        path, EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": old}), connection="hs"
    )
    store.save(_token())
    with pytest.raises(ConfigError, match="put the new key first"):
        store.rotate_key(new.encode())
    both = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": f"{new},{old}"})
    assert EncryptedTokenStore(path, both, connection="hs").rotate_key() == 1
    only_new = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": new})
    loaded = EncryptedTokenStore(path, only_new, connection="hs").load()
    assert loaded is not None
    assert loaded.refresh_token == REFRESH


def test_first_key_file_is_created_once_under_concurrency(tmp_path) -> None:
    key_file = tmp_path / "cfg" / "token.key"
    seen: list[bytes] = []
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        seen.append(FileKeySource(key_file).current_keys()[0])

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1
    assert [p.name for p in key_file.parent.iterdir()] == ["token.key"]


class MemoryKeyring(KeyringBackend):
    """A keyring backend living in memory (the real `keyring` API, no OS store)."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    import keyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_key_source_resolution_order(tmp_path, monkeypatch, memory_keyring) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    env_key = Fernet.generate_key().decode()
    assert isinstance(resolve_key_source(environ={"LEADBRIDGE_TOKEN_KEY": env_key}), EnvKeySource)
    explicit = resolve_key_source(environ={"LEADBRIDGE_TOKEN_KEY_FILE": str(tmp_path / "k")})
    assert isinstance(explicit, FileKeySource)
    assert explicit.path == tmp_path / "k"
    # a usable keyring wins when nothing exists yet, and creates the key there
    chosen = resolve_key_source(environ={})
    assert isinstance(chosen, KeyringKeySource)
    key = chosen.current_keys()[0]
    assert memory_keyring.values[("leadbridge", "token-store-key")] == key.decode()
    store = EncryptedTokenStore(tmp_path / "t.db", chosen, connection="hs")
    store.save(_token())
    assert not (tmp_path / "xdg").exists()
    # without a keyring: the default 0600 key file under XDG_CONFIG_HOME
    fallback = resolve_key_source(environ={}, use_keyring=False)
    assert isinstance(fallback, FileKeySource)
    assert fallback.path == tmp_path / "xdg" / "leadbridge" / "token.key"


def test_existing_key_file_is_not_orphaned_by_a_new_keyring(
    tmp_path, monkeypatch, memory_keyring
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    first = resolve_key_source(environ={}, use_keyring=False)
    EncryptedTokenStore(tmp_path / "t.db", first, connection="hs").save(_token())
    later = resolve_key_source(environ={})  # keyring now usable but empty
    assert isinstance(later, FileKeySource)
    loaded = EncryptedTokenStore(tmp_path / "t.db", later, connection="hs").load()
    assert loaded is not None


def test_status_rows_need_no_key_and_hold_no_secret(tmp_path) -> None:
    path = tmp_path / "tokens.db"
    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()})
    ok = EncryptedTokenStore(path, source, connection="hs-main")
    ok.save(_token())
    dead = EncryptedTokenStore(path, source, connection="sf-main")
    dead.save(_token())
    dead.mark_needs_reauth(f"refresh rejected: invalid_grant {REFRESH}")
    rows = list_connections(path)
    assert [r.connection for r in rows] == ["hs-main", "sf-main"]
    assert rows[0].status == "ok"
    assert rows[0].has_token
    assert rows[0].expires_at is not None
    assert rows[1].status == "needs_reauth"
    assert not rows[1].has_token
    assert REFRESH not in (rows[1].reason or "")
    assert dead.load() is None
    assert list_connections(tmp_path / "absent.db") == []


def test_odd_connection_names_get_a_hashed_lock_file(tmp_path) -> None:
    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()})
    store = EncryptedTokenStore(tmp_path / "t.db", source, connection="../../etc/passwd")
    with store.refresh_lock():
        assert store.lock_path.parent == tmp_path / "t.db.locks"
        assert os.path.basename(store.lock_path).endswith(".lock")
        assert "/" not in store.lock_path.name
        assert ".." not in store.lock_path.name


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.secrets: the collection is locked")


def test_failing_keyring_is_a_one_line_config_error(tmp_path) -> None:
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        # no silent fallback to a new key file: the keyring may hold the store's key
        with pytest.raises(ConfigError, match=r"OS keyring .* failed: RuntimeError"):
            resolve_key_source(environ={})
    finally:
        keyring.set_keyring(previous)


def test_a_file_that_is_not_a_store_is_a_state_error(tmp_path) -> None:
    bogus = tmp_path / "tokens.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="unreadable"):
        list_connections(bogus)
    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()})
    with pytest.raises(StateError, match="unusable"):
        EncryptedTokenStore(bogus, source, connection="hs")
