"""The `leadbridge` command line.

Every user mistake (bad config, unreachable CRM, refused credentials) ends as one line on
stderr and exit code 2, never a traceback; `--debug` shows the traceback for bug reports.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadbridge import __version__
from leadbridge.core.errors import ConfigError, LeadbridgeError
from leadbridge.core.redaction import install_log_redaction, redact

__all__ = ["app", "main"]

app = typer.Typer(
    name="leadbridge",
    help="Connect CRMs to a lead scorer: pull incrementally, score, write back, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
emulator_app = typer.Typer(help="Run a local CRM emulator (for demos, tests and integration work).")
app.add_typer(emulator_app, name="emulator")

console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"leadbridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details (redacted).")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()


@app.command()
def demo(
    leads: Annotated[int, typer.Option(help="How many leads the emulated portal holds.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the generated portal.")] = 42,
    state: Annotated[Path, typer.Option(help="SQLite state file (recreated).")] = Path(".leadbridge/demo-state.db"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Pull, score and write back on a local emulated HubSpot portal, twice (full, then incremental)."""
    from leadbridge.cli.demo import print_summary, run_demo

    summary = run_demo(leads=leads, seed=seed, state=state, console=err_console, show_progress=not as_json)
    if as_json:
        sys.stdout.write(json.dumps(summary.as_json(), indent=2) + "\n")
    else:
        print_summary(summary, console)


@app.command()
def sync(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")] = Path("leadbridge.toml"),
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    full: Annotated[bool, typer.Option(help="Re-read everything and re-score every lead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run reports as JSON.")] = False,
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Score as of this UTC time (replays and reproducible runs).")
    ] = None,
) -> None:
    """Run one sync of every configured connection (or one)."""
    from leadbridge.cli.progress import RichProgress
    from leadbridge.cli.wiring import run_connection
    from leadbridge.sync.config import load_config

    cfg = load_config(config)
    when = as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of
    targets = [c for c in cfg.connection if connection is None or c.name == connection]
    if not targets:
        raise ConfigError(f"no connection named {connection!r}" if connection else "no [[connection]] defined",
                          file=str(config), key="connection")
    reports = []
    for conn in targets:
        progress = None if as_json else RichProgress(err_console, prefix=f"{conn.name}: ")
        if progress is not None:
            with progress:
                reports.append(
                    run_connection(cfg, conn, config_file=str(config), full=full, progress=progress, as_of=when)
                )
        else:
            reports.append(run_connection(cfg, conn, config_file=str(config), full=full, as_of=when))
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump(mode="json") for r in reports], indent=2) + "\n")
        return
    for report in reports:
        console.print(
            f"[bold]{report.connection}[/bold] {report.mode} run {report.status}: "
            f"{report.leads_pulled} leads pulled, {report.leads_scored} scored, {report.leads_written} written, "
            f"{report.rejects + report.write_failures} dead letters, {sum(report.api_calls.values())} API calls, "
            f"{report.elapsed_s:.1f} s"
        )
        for error in report.errors:
            err_console.print(f"[red]{error}[/red]")
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@app.command()
def daemon(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")] = Path("leadbridge.toml"),
) -> None:
    """Run every connection on its schedule until SIGTERM (which finishes the batch in flight)."""
    from leadbridge.cli.wiring import run_connection
    from leadbridge.sync.config import ConnectionConfig, load_config
    from leadbridge.sync.daemon import Daemon
    from leadbridge.sync.engine import SyncReport

    cfg = load_config(config)

    def run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        return run_connection(cfg, conn, config_file=str(config), stop=stop)

    def report(r: SyncReport) -> None:
        err_console.print(
            f"{r.connection}: {r.mode} {r.status}, {r.leads_scored} scored, {r.leads_written} written, {r.elapsed_s:.1f} s"
        )

    Daemon(cfg.connection, run, on_report=report).serve_forever()


@emulator_app.command("hubspot")
def emulator_hubspot(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8090,
    leads: Annotated[int, typer.Option(help="Contacts in the generated portal.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the generated portal.")] = 42,
) -> None:
    """Serve an emulated HubSpot portal until interrupted."""
    from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal

    stop = threading.Event()
    emulator = HubSpotEmulator(generate_portal(leads, seed=seed), port=port).start()
    console.print(f"HubSpot emulator on {emulator.base_url} (private-app token: {emulator.private_app_token})")
    console.print("Ledger: GET /_emulator/ledger. Ctrl-C to stop.")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


def _register_plugins() -> None:
    """Command groups owned by the scoring packages."""
    import importlib

    for module in ("leadbridge.cli.score", "leadbridge.cli.extract", "leadbridge.cli.model"):
        try:
            plugin = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        plugin.register(app)


_register_plugins()


def main() -> None:
    """Console-script entry point: one-line errors for user mistakes."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except LeadbridgeError as exc:
        if debug:
            raise
        err_console.print(f"[red]error:[/red] {redact(str(exc))}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
