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
from leadbridge.cli.audit import register as register_audit
from leadbridge.cli.auth import register as register_auth
from leadbridge.cli.bisync import register as register_bisync
from leadbridge.cli.extract import register as register_extract
from leadbridge.cli.migrate import register as register_migrate
from leadbridge.cli.model import register as register_model
from leadbridge.cli.privacy import register as register_privacy
from leadbridge.cli.report import register as register_report
from leadbridge.cli.rescore import register as register_rescore
from leadbridge.cli.score import register as register_score
from leadbridge.cli.serve import register as register_serve
from leadbridge.cli.workers import register as register_workers
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
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress details (redacted).")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()


@app.command()
def demo(
    crm: Annotated[
        str, typer.Option(help="hubspot, salesforce, activecampaign or boma.")
    ] = "hubspot",
    leads: Annotated[
        int | None,
        typer.Option(
            help="Leads in the emulated CRM (default: a few minutes' worth at its limits)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated portal.")] = 42,
    state: Annotated[Path, typer.Option(help="SQLite state file (recreated).")] = Path(
        ".leadbridge/demo-state.db"
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Pull, score and write back on a local emulated CRM (full run, then incremental)."""
    from leadbridge.cli.demo import print_summary, run_demo

    summary = run_demo(
        leads=leads, seed=seed, crm=crm, state=state, console=err_console, show_progress=not as_json
    )
    if as_json:
        sys.stdout.write(json.dumps(summary.as_json(), indent=2) + "\n")
    else:
        print_summary(summary, console)


@app.command()
def sync(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")] = Path(
        "leadbridge.toml"
    ),
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    full: Annotated[bool, typer.Option(help="Re-read everything and re-score every lead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run reports as JSON.")] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Score as of this UTC time (replays and reproducible runs)."),
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
        raise ConfigError(
            f"no connection named {connection!r}" if connection else "no [[connection]] defined",
            file=str(config),
            key="connection",
        )
    reports = []
    for conn in targets:
        progress = None if as_json else RichProgress(err_console, prefix=f"{conn.name}: ")
        if progress is not None:
            with progress:
                reports.append(
                    run_connection(
                        cfg, conn, config_file=str(config), full=full, progress=progress, as_of=when
                    )
                )
        else:
            reports.append(
                run_connection(cfg, conn, config_file=str(config), full=full, as_of=when)
            )
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump(mode="json") for r in reports], indent=2) + "\n")
        return
    for report in reports:
        dead = report.rejects + report.write_failures
        console.print(
            f"[bold]{report.connection}[/bold] {report.mode} run {report.status}: "
            f"{report.leads_pulled} leads pulled, {report.leads_scored} scored, "
            f"{report.leads_written} written, {dead} dead letters, "
            f"{sum(report.api_calls.values())} API calls, {report.elapsed_s:.1f} s"
        )
        for error in report.errors:
            err_console.print(f"[red]{error}[/red]")
    if any(r.status == "failed" for r in reports):
        raise typer.Exit(1)


@app.command()
def daemon(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")] = Path(
        "leadbridge.toml"
    ),
    port: Annotated[
        int | None, typer.Option(help="Port for /health, /metrics and webhooks (0: any free port).")
    ] = None,
) -> None:
    """Run every connection on its schedule until SIGTERM (which finishes the batch in flight).

    Also serves /health, Prometheus /metrics and the webhook endpoints of connections that
    declare a [connection.webhook] table.
    """
    from leadbridge.cli.learning import retrain_connection
    from leadbridge.cli.wiring import build_scorer, open_webhook_handler, run_connection
    from leadbridge.privacy.config import load_settings
    from leadbridge.privacy.registry import PrivacyRegistry
    from leadbridge.privacy.retention import enforce_retention
    from leadbridge.scoring.predictive.feedback import FeedbackReport
    from leadbridge.sync.config import ConnectionConfig, load_config
    from leadbridge.sync.daemon import Chore, Daemon, RetrainSetup, WebhookSetup
    from leadbridge.sync.engine import SyncReport
    from leadbridge.sync.metrics import DaemonMetrics
    from leadbridge.sync.state import open_store
    from leadbridge.sync.webhooks.config import sender_for
    from leadbridge.sync.webhooks.queue import open_queue
    from leadbridge.sync.webhooks.receivers import Endpoint

    cfg = load_config(config)
    store = open_store(cfg.state)
    metrics = DaemonMetrics()

    def run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        return run_connection(
            cfg,
            conn,
            config_file=str(config),
            stop=stop,
            store=store,
            observe=lambda c: metrics.observe_connector(conn.name, c),
        )

    def report(r: SyncReport) -> None:
        err_console.print(
            f"{r.connection}: {r.mode} {r.status}, {r.leads_scored} scored, "
            f"{r.leads_written} written, {r.elapsed_s:.1f} s"
        )

    endpoints = [
        Endpoint(
            c.name,
            sender_for(c.crm, c.webhook),
            c.webhook,
            c.webhook.resolve_secret(connection=c.name),
        )
        for c in cfg.connection
        if c.webhook is not None
    ]
    hooks = (
        WebhookSetup(
            open_queue(store.engine.url),
            endpoints,
            lambda c: open_webhook_handler(cfg, c, config_file=str(config), store=store),
        )
        if endpoints
        else None
    )

    def retrain(conn: ConnectionConfig) -> FeedbackReport:
        rules = build_scorer(cfg.scoring)
        return retrain_connection(cfg, conn, store, as_of=datetime.now(UTC), rules=rules)

    predictive = cfg.predictive
    retraining = (
        RetrainSetup(predictive.retrain_cron, retrain)
        if predictive.enabled and predictive.retrain_cron
        else None
    )
    policy = load_settings(config).privacy.retention

    def retention() -> str:
        done = enforce_retention(store, policy, registry=PrivacyRegistry(store.engine))
        rows = ", ".join(f"{n} {kind}" for kind, n in done.deleted.items() if n) or "no rows"
        return f"deleted {rows}; {done.files_deleted} files"

    chores = [Chore("retention", policy.schedule, retention)] if policy.schedule else []
    service = cfg.daemon if port is None else cfg.daemon.model_copy(update={"port": port})
    try:
        Daemon(
            cfg.connection,
            run,
            on_report=report,
            service=service,
            webhooks=hooks,
            store=store,
            metrics=metrics,
            retrain=retraining,
            chores=chores,
        ).serve_forever()
    finally:
        store.close()


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
    token = emulator.private_app_token
    typer.echo(f"HubSpot emulator on {emulator.base_url} (private-app token: {token})")
    typer.echo("Ledger: GET /_emulator/ledger. Ctrl-C to stop.")
    sys.stdout.flush()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


for _register in (
    register_score,
    register_rescore,
    register_extract,
    register_model,
    register_auth,
    register_serve,
    register_privacy,
    register_audit,
    register_report,
    register_migrate,
    register_bisync,
    register_workers,
):
    _register(app)


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
        # One line, however long: no console wrapping (scripts grep these).
        message = " ".join(redact(str(exc)).split())
        sys.stderr.write(f"error: {message}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
