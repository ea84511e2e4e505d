"""Planted canary secrets never reach a log line, an error message or a file in clear.

Login, refresh, a HubSpot read at DEBUG (OAuth with a forced expiry, and a private-app
key), rotation, replay and a handful of forced errors; then every log record, the log
file, every exception (with its chain) and every byte under the test's tmp dir are
grepped for the canaries. The store file is grepped too: it must hold ciphertext only.
"""

from __future__ import annotations

import logging
import secrets
import threading
import traceback

import httpx
import pytest
from cryptography.fernet import Fernet

from leadbridge.cli.auth import LoopbackReceiver, run_login
from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.core.errors import LeadbridgeError
from leadbridge.core.redaction import install_log_redaction
from leadbridge.core.tokens import (
    EncryptedTokenStore,
    EnvKeySource,
    FileKeySource,
)
from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal

CLIENT_SECRET = f"canary-client-secret-{secrets.token_hex(8)}"
API_KEY = f"canary-api-key-{secrets.token_hex(8)}"


def _hubspot(hs: HubSpotEmulator, auth: dict[str, str], **runtime) -> HubSpotConnector:
    return HubSpotConnector.from_mapping({"base_url": hs.base_url, "auth": auth}, **runtime)


def _oauth(hs: HubSpotEmulator, redirect: str, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {
        "kind": "oauth",
        "client_id": hs.oauth_client_id,
        "client_secret": secret,
        "token_url": f"{hs.base_url}/oauth/v1/token",
        "authorize_url": f"{hs.base_url}/oauth/authorize",
        "redirect_uri": redirect,
    }


def _read_all(connector: HubSpotConnector) -> int:
    return sum(len(page.leads) for page in connector.read("contacts", None))


def test_no_canary_in_logs_errors_or_files(tmp_path, caplog, rot_server, make_source) -> None:
    fernet_key = Fernet.generate_key().decode()
    canaries = {CLIENT_SECRET, API_KEY, fernet_key, rot_server.client_secret}
    rot_server.prefix = f"canary{secrets.token_hex(4)}"
    log_file = tmp_path / "logs" / "run.log"
    log_file.parent.mkdir()
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    install_log_redaction()  # what the CLI does once logging is configured
    errors: list[BaseException] = []

    def expect_error(fn) -> None:
        with pytest.raises(LeadbridgeError) as info:
            fn()
        errors.append(info.value)
        logging.getLogger("leadbridge.tests").exception("forced error", exc_info=info.value)

    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": fernet_key})
    store = EncryptedTokenStore(tmp_path / "state" / "tokens.db", source, connection="hs")
    try:
        with HubSpotEmulator(
            generate_portal(25, seed=5),
            oauth_client_secret=CLIENT_SECRET,
            private_app_token=API_KEY,
        ) as hs:
            # 1. login through the loopback flow
            receiver = LoopbackReceiver("127.0.0.1", 0, "/cb")
            redirect = f"http://127.0.0.1:{receiver.port}/cb"
            connector = _hubspot(hs, _oauth(hs, redirect), persister=store)

            def browser(url: str) -> None:
                threading.Thread(target=lambda: httpx.get(url, follow_redirects=True)).start()

            try:
                login_token = run_login(connector, receiver, announce=browser, timeout_s=20)
            finally:
                receiver.close()
            canaries |= {login_token.access_token, login_token.refresh_token or ""}
            # 2. a read at DEBUG, with every access token expiring mid-way
            leads = _read_all(connector)
            assert leads > 0
            hs.faults.expire_tokens = True
            assert _read_all(connector) == leads
            refreshed = store.load()
            assert refreshed is not None
            assert refreshed.access_token != login_token.access_token
            canaries.add(refreshed.access_token)
            connector.close()
            # 3. a private-app key, then forced errors
            private = _hubspot(hs, {"kind": "private_app", "token": API_KEY})
            assert _read_all(private) == leads
            private.close()
            other_key = EnvKeySource(
                environ={"LEADBRIDGE_TOKEN_KEY": Fernet.generate_key().decode()}
            )
            expect_error(EncryptedTokenStore(store.path, other_key, connection="hs").load)
            wrong = _hubspot(hs, {"kind": "private_app", "token": API_KEY[::-1]})
            expect_error(wrong.check)
            wrong.close()
            bad_secret = _hubspot(
                hs, _oauth(hs, redirect, secret=CLIENT_SECRET[::-1]), persister=store
            )
            assert bad_secret.api.token_source is not None
            expect_error(lambda: bad_secret.api.token_source.refresh())  # type: ignore[union-attr]
            bad_secret.close()
        # 4. a rotating server: refresh, replay of a superseded token, dead connection
        rot_store = EncryptedTokenStore(tmp_path / "state" / "tokens.db", source, connection="rot")
        first = rot_server.grant(expired=True)
        rot_store.save(first)
        rotating = make_source(rot_store)
        rotating.current()
        rot_server.mode = "strict"
        rot_store.save(first)  # a stale copy comes back (e.g. a restored backup)
        replay = make_source(rot_store)
        expect_error(lambda: replay.refresh(stale_access_token=first.access_token))
        expect_error(make_source(rot_store).current)
        expect_error(lambda: rotating.refresh(stale_access_token=rotating.current().access_token))
        # 5. store-level failures
        loose = tmp_path / "loose.key"
        loose.write_text(fernet_key)
        loose.chmod(0o644)
        expect_error(
            lambda: EncryptedTokenStore(tmp_path / "t2.db", FileKeySource(loose), connection="x")
        )
        loose.unlink()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    canaries |= set(rot_server.issued)
    canaries.discard("")
    assert len(canaries) >= 11
    texts = {
        "caplog": caplog.text,
        "records": "\n".join(r.getMessage() for r in caplog.records),
        "log file": log_file.read_text(),
        "errors": "\n".join("".join(traceback.format_exception(e)) for e in errors),
    }
    assert len(errors) == 7
    assert "marked as needing re-auth" in texts["log file"]
    hits = [(where, c) for where, text in texts.items() for c in canaries if c in text]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "tokens.db" for p in files)
    for path in files:
        data = path.read_bytes()
        hits += [(str(path), c) for c in canaries if c.encode() in data]
    assert hits == []
