"""`leadbridge auth login|status` end to end against the HubSpot emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import typer
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from leadbridge.cli.auth import LoopbackReceiver, register, run_login
from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.core.errors import AuthError, ConfigError
from leadbridge.core.tokens import EncryptedTokenStore, EnvKeySource, LockedTokenSource
from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal

# The real entry point (one-line errors), with the auth group added if app.py lacks it.
CLI = (
    "from leadbridge.cli import app as m\n"
    "from leadbridge.cli.auth import register\n"
    "if not any(g.name == 'auth' for g in m.app.registered_groups):\n"
    "    register(m.app)\n"
    "m.main()\n"
)


@pytest.fixture(scope="module")
def emulator():
    with HubSpotEmulator(generate_portal(30, seed=3)) as hs:
        yield hs


def _config(tmp_path: Path, hs: HubSpotEmulator, redirect: str) -> Path:
    path = tmp_path / "leadbridge.toml"
    path.write_text(
        'state = "state/state.db"\n'
        "[[connection]]\n"
        'name = "hs-main"\n'
        'crm = "hubspot"\n'
        "[connection.settings]\n"
        f'base_url = "{hs.base_url}"\n'
        "[connection.settings.auth]\n"
        'kind = "oauth"\n'
        f'client_id = "{hs.oauth_client_id}"\n'
        'client_secret_env = "HS_CLIENT_SECRET"\n'
        f'token_url = "{hs.base_url}/oauth/v1/token"\n'
        f'authorize_url = "{hs.base_url}/oauth/authorize"\n'
        f'redirect_uri = "{redirect}"\n'
    )
    return path


def _env(hs: HubSpotEmulator, key: str) -> dict[str, str]:
    return {
        **os.environ,
        "HS_CLIENT_SECRET": hs.oauth_client_secret,
        "LEADBRIDGE_TOKEN_KEY": key,
    }


def _store(tmp_path: Path, key: str, name: str = "hs-main") -> EncryptedTokenStore:
    source = EnvKeySource(environ={"LEADBRIDGE_TOKEN_KEY": key})
    return EncryptedTokenStore(tmp_path / "state" / "tokens.db", source, connection=name)


def login_via_cli(tmp_path, hs, key, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run `auth login`, follow the printed URL like a browser would, return the result."""
    config = _config(tmp_path, hs, "http://127.0.0.1:0/oauth/callback")
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "auth", "login", "hubspot", "--config", str(config), *extra],
        env=_env(hs, key),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith(f"{hs.base_url}/oauth/authorize?"), url
    assert "code_challenge_method=S256" in url
    page = httpx.get(url, follow_redirects=True, timeout=30)
    assert page.status_code == 200
    assert "authorization received" in page.text
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, url + "\n" + out, err)


def test_login_end_to_end_then_connector_uses_the_stored_token(tmp_path, emulator) -> None:
    key = Fernet.generate_key().decode()
    result = login_via_cli(tmp_path, emulator, key)
    assert result.returncode == 0, result.stderr
    assert "hs-main: authorised; token stored encrypted" in result.stderr
    store = _store(tmp_path, key)
    token = store.load()
    assert token is not None
    assert token.refresh_token
    raw = store.path.read_bytes()
    assert token.access_token.encode() not in raw
    assert token.refresh_token.encode() not in raw
    # the stored token works: the connector authenticates with it (and a locked source too)
    connector = HubSpotConnector.from_mapping(
        {
            "base_url": emulator.base_url,
            "auth": {
                "kind": "oauth",
                "client_id": emulator.oauth_client_id,
                "client_secret": emulator.oauth_client_secret,
                "token_url": f"{emulator.base_url}/oauth/v1/token",
            },
        },
        persister=store,
    )
    try:
        connector.check()
    finally:
        connector.close()
    source = LockedTokenSource(
        connector="hubspot",
        token_url=f"{emulator.base_url}/oauth/v1/token",
        client_id=emulator.oauth_client_id,
        client_secret=emulator.oauth_client_secret,
        persister=store,
    )
    fresh = source.refresh()
    assert fresh.access_token != token.access_token
    assert store.load() == fresh
    # status lists it, as JSON and as a table
    runner = CliRunner()
    app = typer.Typer()
    register(app)
    config = str(tmp_path / "leadbridge.toml")
    listed = runner.invoke(app, ["auth", "status", "--config", config, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["connections"]
    assert [(r["connection"], r["crm"], r["status"]) for r in rows] == [
        ("hs-main", "hubspot", "ok")
    ]
    assert rows[0]["expires_at"] is not None
    table = runner.invoke(app, ["auth", "status", "--config", config])
    assert table.exit_code == 0
    assert "hs-main" in table.stdout
    assert "ok" in table.stdout
    for secret in (fresh.access_token, fresh.refresh_token or "", key):
        assert secret not in listed.stdout + table.stdout + result.stdout + result.stderr


def test_status_shows_needs_reauth_and_missing_logins(tmp_path, emulator) -> None:
    key = Fernet.generate_key().decode()
    config = _config(tmp_path, emulator, "http://127.0.0.1:0/cb")
    dead = _store(tmp_path, key, "hs-main")
    dead.mark_needs_reauth("refresh rejected: invalid_grant")
    text = config.read_text()
    config.write_text(
        text
        + text.split("[[connection]]")[1].replace("hs-main", "hs-eu").join(["[[connection]]", ""])
    )
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["auth", "status", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["connection"]: r for r in json.loads(result.stdout)["connections"]}
    assert rows["hs-main"]["status"] == "needs_reauth"
    assert "invalid_grant" in rows["hs-main"]["note"]
    assert rows["hs-eu"]["status"] == "not_logged_in"


def test_login_errors_are_one_line(tmp_path, emulator) -> None:
    key = Fernet.generate_key().decode()
    config = _config(tmp_path, emulator, "http://127.0.0.1:0/cb")
    base = [sys.executable, "-c", CLI, "auth", "login"]
    env = _env(emulator, key)
    # relative paths keep the message short enough for one terminal line
    wrong_crm = subprocess.run(
        [*base, "salesforce", "--config", config.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong_crm.returncode == 2
    assert "no salesforce connection configured" in wrong_crm.stderr
    assert "Traceback" not in wrong_crm.stderr
    remote = _config(tmp_path, emulator, "https://example.com/cb")
    not_loopback = subprocess.run(
        [*base, "hubspot", "--config", remote.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert not_loopback.returncode == 2
    assert "loopback" in not_loopback.stderr
    assert not_loopback.stderr.strip().count("\n") == 0


def _connector(hs: HubSpotEmulator, store: EncryptedTokenStore, redirect: str) -> HubSpotConnector:
    return HubSpotConnector.from_mapping(
        {
            "base_url": hs.base_url,
            "auth": {
                "kind": "oauth",
                "client_id": hs.oauth_client_id,
                "client_secret": hs.oauth_client_secret,
                "token_url": f"{hs.base_url}/oauth/v1/token",
                "authorize_url": f"{hs.base_url}/oauth/authorize",
                "redirect_uri": redirect,
            },
        },
        persister=store,
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("code=abc&state=forged", "state does not match"),
        ("error=access_denied&state=x", "authorization refused by the CRM: access_denied"),
    ],
)
def test_bad_callbacks_are_refused(tmp_path, emulator, query, message) -> None:
    receiver = LoopbackReceiver("127.0.0.1", 0, "/cb")
    redirect = f"http://127.0.0.1:{receiver.port}/cb"
    store = _store(tmp_path, Fernet.generate_key().decode())
    connector = _connector(emulator, store, redirect)

    def forge(url: str) -> None:
        threading.Thread(target=lambda: httpx.get(f"{redirect}?{query}", timeout=10)).start()

    try:
        with pytest.raises(AuthError, match=message):
            run_login(connector, receiver, announce=forge, timeout_s=10)
    finally:
        receiver.close()
        connector.close()
    assert store.load() is None


def test_callback_timeout_and_busy_port(tmp_path, emulator) -> None:
    receiver = LoopbackReceiver("localhost", 0, "/cb")
    try:
        with pytest.raises(AuthError, match="no OAuth callback within 0 s"):
            receiver.wait(0.2)
        assert httpx.get(f"http://127.0.0.1:{receiver.port}/other").status_code == 404
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            LoopbackReceiver("127.0.0.1", receiver.port, "/cb")
    finally:
        receiver.close()
    with pytest.raises(ConfigError, match="not a loopback address"):
        LoopbackReceiver("10.0.0.1", 0, "/cb")
    LoopbackReceiver("127.0.0.1", receiver.port, "/cb").close()  # free again after close
