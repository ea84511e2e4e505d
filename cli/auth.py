"""`leadbridge auth login|status`: OAuth authorization-code flow and token health.

`login` runs the flow with a loopback redirect (RFC 8252 §7.3): a one-shot HTTP server
on the redirect URI's loopback address receives the callback, the state is checked, the
code is exchanged (PKCE S256) and the token lands in the encrypted store. A
``redirect_uri`` with port 0 picks a free port (for providers that accept any loopback
port). The browser opens only with ``--open``; the URL is always printed, so a headless
machine can follow it elsewhere.

The token store defaults to ``tokens.db`` next to the state database (``LEADBRIDGE_TOKEN_STORE``
or ``--store`` overrides); see `leadbridge.core.tokens` for where the key lives.
"""

from __future__ import annotations

import contextlib
import enum
import hmac
import http.server
import json
import os
import queue
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.table import Table

from leadbridge.connectors import create_connector
from leadbridge.core.auth import AuthorizationRequest, OAuthToken, TokenPersister
from leadbridge.core.errors import AuthError, ConfigError
from leadbridge.core.redaction import install_log_redaction
from leadbridge.core.tokens import (
    ConnectionStatus,
    EncryptedTokenStore,
    list_connections,
    resolve_key_source,
)
from leadbridge.sync.config import ConnectionConfig, LeadbridgeConfig, load_config, resolve_env

__all__ = [
    "STORE_ENV",
    "LoopbackReceiver",
    "SupportsAuthorization",
    "open_token_store",
    "register",
    "run_login",
    "token_store_path",
]

STORE_ENV = "LEADBRIDGE_TOKEN_STORE"
_LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


class Crm(enum.StrEnum):
    """The CRMs whose connectors run an OAuth authorization-code flow."""

    hubspot = "hubspot"
    salesforce = "salesforce"


@runtime_checkable
class SupportsAuthorization(Protocol):
    """A connector that can run the authorization-code flow (HubSpot, Salesforce)."""

    def authorization_request(self) -> AuthorizationRequest:
        """The URL to open, with its state and PKCE verifier."""

    def complete_authorization(
        self, request: AuthorizationRequest, *, code: str, state: str
    ) -> OAuthToken:
        """Exchange the callback's code; the token is persisted before it returns."""

    def close(self) -> None:
        """Release connections."""


# -- where tokens live -------------------------------------------------------------------


def token_store_path(
    config: LeadbridgeConfig, *, config_file: str | Path, override: str | Path | None = None
) -> Path:
    """``--store``, else ``$LEADBRIDGE_TOKEN_STORE``, else ``tokens.db`` beside the state DB."""
    chosen = override or os.environ.get(STORE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    state = config.state
    if state.startswith("sqlite:///"):
        state = state.removeprefix("sqlite:///")
    if "://" in state:  # a server database: keep tokens next to the config file
        return Path(config_file).resolve().parent / ".leadbridge" / "tokens.db"
    return Path(state).expanduser().parent / "tokens.db"


def open_token_store(
    path: str | Path, connection: str, *, key_file: str | Path | None = None
) -> EncryptedTokenStore:
    """The encrypted persister of one connection (wiring passes it as ``persister=``)."""
    return EncryptedTokenStore(path, resolve_key_source(key_file=key_file), connection=connection)


# -- the loopback callback ---------------------------------------------------------------


class _V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


class LoopbackReceiver:
    """A one-shot HTTP server on a loopback address that catches the OAuth callback."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.path = path or "/"
        self._answers: queue.Queue[dict[str, str]] = queue.Queue(maxsize=1)
        bind = _LOOPBACK.get(host.strip("[]"))
        if bind is None:
            raise ConfigError(
                f"redirect_uri host {host!r} is not a loopback address", key="auth.redirect_uri"
            )
        server_class = _V6Server if ":" in bind else http.server.ThreadingHTTPServer
        try:
            self._server = server_class((bind, port), self._handler())
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {bind}:{port} for the OAuth callback: {exc.strerror}",
                key="auth.redirect_uri",
            ) from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oauth-callback", daemon=True
        )
        self._thread.start()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        answers, expected = self._answers, self.path

        class Callback(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != expected:
                    self.send_error(404)
                    return
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                with contextlib.suppress(queue.Full):  # only the first callback counts
                    answers.put_nowait(params)
                failed = "error" in params or "code" not in params
                body = (
                    "leadbridge: authorization failed, see the terminal."
                    if failed
                    else "leadbridge: authorization received. You can close this tab."
                ).encode()
                self.send_response(400 if failed else 200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the request line carries the authorization code."""

        return Callback

    def wait(self, timeout_s: float) -> dict[str, str]:
        """The callback's query parameters; `AuthError` when none arrives in time."""
        try:
            return self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise AuthError(f"no OAuth callback within {timeout_s:.0f} s") from None

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def run_login(
    connector: SupportsAuthorization,
    receiver: LoopbackReceiver,
    *,
    announce: Callable[[str], None],
    open_browser: bool = False,
    timeout_s: float = 300.0,
    guard: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
) -> OAuthToken:
    """One authorization-code flow: URL out, callback in, state checked, code exchanged.

    `guard` (the store's refresh lock) keeps a running daemon's refresh from
    overwriting the new grant while the code is exchanged and saved.
    """
    request = connector.authorization_request()
    announce(request.url)
    if open_browser:
        webbrowser.open(request.url)
    answer = receiver.wait(timeout_s)
    if "error" in answer:
        raise AuthError(f"authorization refused by the CRM: {answer['error'][:80]}")
    state, code = answer.get("state", ""), answer.get("code", "")
    if not hmac.compare_digest(state.encode(), request.state.encode()):
        raise AuthError("OAuth callback state does not match the request (stale or forged)")
    if not code:
        raise AuthError("OAuth callback carried no authorization code")
    with guard():
        return connector.complete_authorization(request, code=code, state=state)


# -- commands ----------------------------------------------------------------------------


def _pick(config: LeadbridgeConfig, crm: str, name: str | None, file: str) -> ConnectionConfig:
    matches = [c for c in config.connection if c.crm == crm and name in (None, c.name)]
    if name is not None and not matches:
        raise ConfigError(f"no {crm} connection named {name!r}", file=file, key="connection")
    if not matches:
        raise ConfigError(f"no {crm} connection configured", file=file, key="connection")
    if len(matches) > 1:
        names = ", ".join(c.name for c in matches)
        raise ConfigError(f"several {crm} connections ({names}): pass --connection", file=file)
    return matches[0]


def _with_redirect(settings: Mapping[str, Any], redirect_uri: str) -> dict[str, Any]:
    auth = dict(settings.get("auth") or {})
    auth["redirect_uri"] = redirect_uri
    return {**settings, "auth": auth}


def _connector(crm: str, settings: Mapping[str, Any], file: str, store: TokenPersister) -> Any:
    connector = create_connector(crm, settings, file=file, persister=store)
    if not isinstance(connector, SupportsAuthorization):
        connector.close()
        raise ConfigError(f"the {crm} connector has no OAuth authorization-code flow", file=file)
    return connector


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    left = (moment - datetime.now(UTC)).total_seconds()
    rel = f"in {_span(left)}" if left >= 0 else f"{_span(-left)} ago"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} UTC ({rel})"


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.", dir_okay=False)
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store", help=f"Token store file (default: ${STORE_ENV} or beside the state DB)."
    ),
]


def login(
    crm: Annotated[Crm, typer.Argument(help="The CRM to authorise.")],
    config: ConfigOpt = Path("leadbridge.toml"),
    connection: Annotated[
        str | None, typer.Option(help="The [[connection]] name (needed when several match).")
    ] = None,
    store: StoreOpt = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Fernet key file (default: env, OS keyring, ~/.config).")
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the URL in a browser.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the callback.", min=1)] = 300,
) -> None:
    """Authorise a connection (OAuth code flow, loopback redirect); stores the token encrypted."""
    install_log_redaction()
    file = str(config)
    cfg = load_config(config)
    conn = _pick(cfg, crm.value, connection, file)
    settings = resolve_env(conn.settings, file=file, prefix=f"connection.{conn.name}.settings")
    persister = open_token_store(
        token_store_path(cfg, config_file=config, override=store), conn.name, key_file=key_file
    )
    connector = _connector(conn.crm, settings, file, persister)
    receiver: LoopbackReceiver | None = None
    try:
        redirect = urlsplit(connector.authorization_request().redirect_uri)
        if redirect.scheme != "http" or redirect.hostname is None:
            raise ConfigError("auth.redirect_uri must be a loopback http:// URL", file=file)
        port = 80 if redirect.port is None else redirect.port  # 0: any free port
        receiver = LoopbackReceiver(redirect.hostname, port, redirect.path)
        if redirect.port == 0:  # free port chosen now: rebuild the request with it
            netloc = f"{redirect.hostname}:{receiver.port}"
            actual = urlunsplit(("http", netloc, redirect.path, redirect.query, ""))
            connector.close()
            connector = _connector(conn.crm, _with_redirect(settings, actual), file, persister)
        typer.echo(f"{conn.name}: open this URL to authorise leadbridge:", err=True)
        token = run_login(
            connector,
            receiver,
            announce=typer.echo,
            open_browser=open_browser,
            timeout_s=timeout,
            # No outer guard: the connector's token source (LockedTokenSource) takes the
            # store's cross-process lock around the exchange itself.
        )
    finally:
        if receiver is not None:
            receiver.close()
        connector.close()
    expires = None if token.expires_at is None else datetime.fromtimestamp(token.expires_at, UTC)
    typer.echo(
        f"{conn.name}: authorised; token stored encrypted in {persister.path} "
        f"(access token expires {_when(expires)})",
        err=True,
    )


def status(
    config: ConfigOpt = Path("leadbridge.toml"),
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List connections with their token status and expiry (reads no secret, needs no key)."""
    cfg = load_config(config) if store is None or config.exists() else LeadbridgeConfig()
    path = token_store_path(cfg, config_file=config, override=store)
    rows: dict[str, ConnectionStatus | None] = {r.connection: r for r in list_connections(path)}
    crms = {c.name: c.crm for c in cfg.connection}
    for conn in cfg.connection:
        auth = conn.settings.get("auth")
        if isinstance(auth, Mapping) and auth.get("kind") == "oauth":
            rows.setdefault(conn.name, None)
    records = [_status_record(name, crms.get(name), row) for name, row in sorted(rows.items())]
    if as_json:
        sys.stdout.write(json.dumps({"store": str(path), "connections": records}, indent=2) + "\n")
        return
    table = Table(title=f"OAuth connections ({path})")
    for column in ("connection", "crm", "status", "access token expires", "updated", "note"):
        table.add_column(column)
    for rec in records:
        colour = {"ok": "green", "needs_reauth": "red"}.get(rec["status"], "yellow")
        table.add_row(
            rec["connection"],
            rec["crm"] or "",
            f"[{colour}]{rec['status']}[/{colour}]",
            _when(_parse(rec["expires_at"])) if rec["expires_at"] else "",
            _when(_parse(rec["updated_at"])) if rec["updated_at"] else "",
            rec["note"] or "",
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _status_record(name: str, crm: str | None, row: ConnectionStatus | None) -> dict[str, Any]:
    if row is None:
        return {
            "connection": name,
            "crm": crm,
            "status": "not_logged_in",
            "expires_at": None,
            "updated_at": None,
            "note": "run `leadbridge auth login`",
        }
    note = row.reason
    if row.status == "ok" and row.refresh_started_at is not None:
        started = row.refresh_started_at.isoformat(timespec="seconds")
        note = f"refresh interrupted at {started}; recovers on next use"
    elif (
        row.status == "ok"
        and row.expires_at is not None
        and row.expires_at.timestamp() < time.time()
    ):
        note = "access token expired; refreshed on next use"
    return {
        "connection": name,
        "crm": crm,
        "status": row.status,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "updated_at": row.updated_at.isoformat(),
        "note": note,
    }


def register(app: typer.Typer) -> None:
    """Add the ``auth`` command group to the main app."""
    auth_app = typer.Typer(
        help="Authorise OAuth connections and show their token status.", no_args_is_help=True
    )
    auth_app.command("login")(login)
    auth_app.command("status")(status)
    app.add_typer(auth_app, name="auth")
