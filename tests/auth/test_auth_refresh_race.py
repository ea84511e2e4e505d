"""Refresh single-flight across threads and processes, and the rotation crash window."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from leadbridge.core.errors import LeadbridgeError, NeedsReauth

WORKER = Path(__file__).with_name("auth_refresh_worker.py")


def _spawn(store, rot_server, fernet_key, go_file: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LEADBRIDGE_TOKEN_KEY": fernet_key}
    args = [str(store.path), rot_server.token_url, rot_server.client_secret, str(go_file), mode]
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _works(rot_server, access_token: str) -> bool:
    answer = httpx.get(
        f"{rot_server.base_url}/me", headers={"Authorization": f"Bearer {access_token}"}
    )
    return answer.status_code == 200


def test_32_threads_expiring_together_refresh_once(rot_server, make_store, make_source) -> None:
    store = make_store()
    store.save(rot_server.grant(expired=True))
    rot_server.delay_s = 0.2  # keep the one refresh in flight while the others pile up
    source = make_source(store)
    barrier = threading.Barrier(32)
    seen: list[str] = []
    errors: list[LeadbridgeError] = []

    def worker() -> None:
        barrier.wait()
        try:
            seen.append(source.current().access_token)
        except LeadbridgeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert rot_server.refresh_requests == 1
    assert len(set(seen)) == 1
    assert len(seen) == 32
    assert rot_server.revocations == 0
    assert store.load().access_token == seen[0]
    assert _works(rot_server, seen[0])


def test_two_sources_in_one_process_share_the_flock(rot_server, make_store, make_source) -> None:
    """Two sources (two thread locks) on the same connection still refresh once."""
    store = make_store()
    store.save(rot_server.grant(expired=True))
    rot_server.delay_s = 0.2
    first, second = make_source(make_store()), make_source(make_store())
    out: list[str] = []
    threads = [
        threading.Thread(target=lambda s=s: out.append(s.current().access_token))
        for s in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert rot_server.refresh_requests == 1
    assert len(set(out)) == 1


def test_three_processes_racing_refresh_once(tmp_path, rot_server, make_store, fernet_key) -> None:
    store = make_store()
    store.save(rot_server.grant(expired=True))
    rot_server.delay_s = 0.3
    go = tmp_path / "go"
    procs = [_spawn(store, rot_server, fernet_key, go, "race") for _ in range(3)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert rot_server.refresh_requests == 1
    assert rot_server.revocations == 0
    assert len({r["access"] for r in results}) == 1
    assert sorted(r["refreshes"] for r in results) == [0, 0, 1]
    assert store.load().access_token == results[0]["access"]


def _crash_mid_refresh(kill: str, tmp_path, rot_server, store, fernet_key) -> None:
    """Server rotates, client dies before persisting: the store keeps the old token."""
    go = tmp_path / "go"
    go.touch()
    if kill == "self-at-persist":
        proc = _spawn(store, rot_server, fernet_key, go, "die-before-persist")
        proc.communicate(timeout=60)
    else:  # external SIGKILL while the rotated answer is on its way
        rot_server.delay_s = 30.0
        proc = _spawn(store, rot_server, fernet_key, go, "race")
        assert rot_server.rotated.wait(30)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        rot_server.delay_s = 0.0
    assert proc.returncode == -signal.SIGKILL
    assert rot_server.refresh_requests == 1
    status = store.status()
    assert status is not None
    assert status.refresh_started_at is not None


@pytest.mark.parametrize("kill", ["self-at-persist", "external"])
def test_sigkill_between_response_and_persist_never_locks_out(
    kill, tmp_path, rot_server, make_store, make_source, fernet_key
) -> None:
    store = make_store()
    original = rot_server.grant(expired=True)
    store.save(original)
    _crash_mid_refresh(kill, tmp_path, rot_server, store, fernet_key)

    restarted = make_source(make_store())
    token = restarted.current()  # the marker makes it recover at once, under the flock
    assert token.refresh_token != original.refresh_token
    assert rot_server.grace_reuses == 1
    assert rot_server.revocations == 0
    assert _works(rot_server, token.access_token)
    status = store.status()
    assert status is not None
    assert status.refresh_started_at is None
    assert status.status == "ok"
    # the rotation chain goes on normally afterwards
    fresh = restarted.refresh(stale_access_token=token.access_token)
    assert _works(rot_server, fresh.access_token)
    assert rot_server.revocations == 0


def test_marker_triggers_recovery_before_the_access_token_expires(
    tmp_path, rot_server, make_store, make_source, fernet_key
) -> None:
    """Grace windows are short: recover right after restart, not at the next expiry."""
    store = make_store()
    store.save(rot_server.grant(expired=False))
    rot_server.delay_s = 30.0
    proc = _spawn(store, rot_server, fernet_key, tmp_path / "never", "race")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    # the worker is idle (its token is fresh): force a refresh in flight from here
    store.begin_refresh()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    rot_server.delay_s = 0.0
    before = rot_server.refresh_requests
    make_source(make_store()).current()
    assert rot_server.refresh_requests == before + 1


def test_strict_server_ends_in_clean_needs_reauth(
    tmp_path, rot_server, make_store, make_source, fernet_key
) -> None:
    rot_server.mode = "strict"
    store = make_store()
    store.save(rot_server.grant(expired=True))
    _crash_mid_refresh("self-at-persist", tmp_path, rot_server, store, fernet_key)

    restarted = make_source(make_store())
    with pytest.raises(NeedsReauth) as info:
        restarted.current()
    assert "\n" not in str(info.value)
    assert "leadbridge auth login" in str(info.value)
    assert rot_server.refresh_requests == 2  # the crashed one + exactly one retry
    status = store.status()
    assert status is not None
    assert status.status == "needs_reauth"
    assert status.reason
    assert "interrupted refresh" in status.reason
    assert not status.has_token
    assert store.load() is None
    # later calls, in this process or a new one, fail fast without touching the server
    for source in (restarted, make_source(make_store())):
        for _ in range(3):
            with pytest.raises(NeedsReauth):
                source.current()
            with pytest.raises(NeedsReauth):
                source.refresh(stale_access_token="whatever")
    assert rot_server.refresh_requests == 2
    # a successful login clears the state and the same source object works again
    store.save(rot_server.grant())
    assert _works(rot_server, restarted.current().access_token)


def test_replayed_refresh_token_revokes_family_and_everyone_stops(
    rot_server, make_store, make_source
) -> None:
    store = make_store()
    token = rot_server.grant(expired=True)
    store.save(token)
    rot_server.mode = "strict"
    daemon = make_source(store)
    live = daemon.current()
    # an attacker's copy of the superseded refresh token is presented: family revoked
    store.save(token.model_copy(update={"access_token": "x" * 12}))
    with pytest.raises(NeedsReauth):
        make_source(make_store()).refresh(stale_access_token="x" * 12)
    assert rot_server.revocations == 1
    assert not _works(rot_server, live.access_token)
    # the daemon learns on its next 401 and stops without another token request
    requests = rot_server.refresh_requests
    with pytest.raises(NeedsReauth):
        daemon.refresh(stale_access_token=live.access_token)
    with pytest.raises(NeedsReauth):
        daemon.current()
    assert rot_server.refresh_requests == requests
