"""``leadbridge model ...``: train, evaluate, promote, roll back and list predictive models.

Errors are one line on stderr with exit code 2, never a traceback: every failure a user
can cause (bad CSV, unknown column, single-class target, empty registry) is a
`LeadbridgeError` by the time it reaches here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from leadbridge.core.errors import LeadbridgeError
from leadbridge.core.protocols import Scorer
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.csv_training import evaluate_csv_rows, train_csv
from leadbridge.scoring.predictive.evaluation import evaluate
from leadbridge.scoring.predictive.registry import Holdout, ModelRegistry
from leadbridge.scoring.predictive.tabular import TabularFrame, read_csv
from leadbridge.sync.config import ConnectionConfig, LeadbridgeConfig
from leadbridge.sync.state import StateStore

__all__ = ["register"]

T = TypeVar("T")

CsvOpt = Annotated[Path | None, typer.Option("--csv", help="CSV export to read.")]
SepOpt = Annotated[str, typer.Option("--sep", help="CSV separator (one character).")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Column holding the outcome.")]
PositiveOpt = Annotated[
    str | None, typer.Option("--positive", help="Target value meaning converted.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RegistryOpt = Annotated[
    str | None, typer.Option("--registry", help="Registry database: a SQLAlchemy URL or a path.")
]
NameOpt = Annotated[str, typer.Option("--name", help="Model name in the registry.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except LeadbridgeError as exc:
        raise _fail(str(exc)) from None


def _registry(location: str | None) -> ModelRegistry:
    if not location:
        raise _fail("--registry is required (a database URL or a file path)")
    url = location if "://" in location else f"sqlite:///{Path(location).expanduser()}"
    return _guard(lambda: ModelRegistry(url))


def _split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


def _print(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    for key, value in payload.items():
        if isinstance(value, float):
            typer.echo(f"{key:>26}: {value:.4f}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            typer.echo(f"{key:>26}:")
            for item in value:
                typer.echo(" " * 28 + ", ".join(f"{k}={_fmt(v)}" for k, v in item.items()))
        else:
            typer.echo(f"{key:>26}: {_fmt(value)}")


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _require(csv: Path | None, target: str | None, positive: str | None) -> tuple[Path, str, str]:
    if csv is None:
        raise _fail("--csv is required (or --connection NAME to train from a synced CRM)")
    if not target:
        raise _fail("--target is required: the column holding the outcome")
    if positive is None:
        raise _fail("--positive is required: the target value meaning 'converted'")
    return csv, target, positive


ConnectionOpt = Annotated[
    str | None,
    typer.Option("--connection", help="Train from this connection's synced CRM history."),
]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")]


@dataclass(frozen=True)
class _Connected:
    config: LeadbridgeConfig
    connection: ConnectionConfig
    store: StateStore
    rules: Scorer


@contextmanager
def _connected(config: Path, name: str) -> Iterator[_Connected]:
    """The configuration, connection, state store and rules scorer of `name`."""
    from leadbridge.cli.wiring import build_scorer
    from leadbridge.sync.config import load_config
    from leadbridge.sync.state import open_store

    cfg = _guard(lambda: load_config(config))
    conn = next((c for c in cfg.connection if c.name == name), None)
    if conn is None:
        raise _fail(f"{config}: no connection named {name!r}")
    store = _guard(lambda: open_store(cfg.state))
    try:
        yield _Connected(cfg, conn, store, _guard(lambda: build_scorer(cfg.scoring)))
    finally:
        store.close()


def _train_connected(config: Path, name: str, *, register: bool) -> tuple[TrainedModel, str | None]:
    from leadbridge.cli.learning import model_name, train_connection

    with _connected(config, name) as c:
        model = _guard(lambda: train_connection(c.config, c.connection, c.store, rules=c.rules))
        if not register:
            return model, None
        registry = ModelRegistry(c.store.engine)
        stored = _guard(
            lambda: registry.register(model, name=model_name(c.config.predictive, c.connection))
        )
        return stored, f"{stored.card.name} {stored.card.version} (challenger)"


def train(
    csv: CsvOpt = None,
    sep: SepOpt = ",",
    target: TargetOpt = None,
    positive: PositiveOpt = None,
    exclude: Annotated[
        str | None, typer.Option("--exclude", help="Comma-separated columns to leave out.")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Row time: enables a time-ordered split.")
    ] = None,
    allow: Annotated[
        str | None, typer.Option("--allow", help="Deny-listed columns to keep anyway.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write model.ubj + card.json here.")
    ] = None,
    registry: RegistryOpt = None,
    name: NameOpt = "default",
    connection: ConnectionOpt = None,
    config: ConfigOpt = Path("leadbridge.toml"),
    as_json: JsonOpt = False,
) -> None:
    """Train a calibrated XGBoost model from a CSV export or a connection's synced history.

    With --connection the model is registered as a challenger in the state store's
    registry (promote it with `model retrain` or `model promote`); --out also saves it.
    """
    registered: str | None = None
    if connection is not None:
        if csv is not None:
            raise _fail("give --csv or --connection, not both")
        model, registered = _train_connected(config, connection, register=registry is None)
    else:
        path, tgt, pos = _require(csv, target, positive)
        model = _guard(
            lambda: train_csv(
                path,
                target=tgt,
                positive=pos,
                sep=sep,
                exclude=_split(exclude),
                time_column=time_column,
                allow=_split(allow),
                name=name,
            )
        )
    payload = model.card.summary()
    if registry:
        stored = _guard(lambda: _registry(registry).register(model, name=name))
        registered, model = f"{name} {stored.card.version}", stored
    if registered:
        payload["registered"] = registered
    if out is not None:
        payload["saved_to"] = str(_guard(lambda: _save(model, out)))
    _print(payload, as_json)


def _save(model: TrainedModel, out: Path) -> Path:
    try:
        return model.save(out)
    except OSError as exc:
        raise _fail(f"{out}: cannot write the model ({exc.strerror})") from None


def _load(
    model_dir: Path | None, registry: str | None, name: str, version: str | None
) -> TrainedModel:
    if model_dir is not None:
        return _guard(lambda: TrainedModel.load(model_dir))
    if registry is None:
        raise _fail("give --model DIR or --registry DB")
    reg = _registry(registry)
    return _guard(lambda: reg.load(name, version))


def evaluate_cmd(
    csv: CsvOpt = None,
    sep: SepOpt = ",",
    target: TargetOpt = None,
    positive: PositiveOpt = None,
    model_dir: Annotated[
        Path | None, typer.Option("--model", help="Directory written by train --out.")
    ] = None,
    registry: RegistryOpt = None,
    name: NameOpt = "default",
    version: Annotated[str | None, typer.Option("--version", help="Default: champion.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a saved or registered model on a labelled CSV (e.g. recent outcomes)."""
    path, tgt, pos = _require(csv, target, positive)
    model = _load(model_dir, registry, name, version)

    def run() -> dict[str, Any]:
        table = read_csv(path, sep=sep)
        frame = TabularFrame.from_table(table, target=tgt, positive=pos)
        report = evaluate(frame.y, evaluate_csv_rows(model, table))
        return {"model": model.version, **report.model_dump(exclude={"notes"})}

    _print(_guard(run), as_json)


def promote(
    version: Annotated[str, typer.Argument(help="Challenger version, e.g. v2.")],
    csv: CsvOpt = None,
    sep: SepOpt = ",",
    target: TargetOpt = None,
    positive: PositiveOpt = None,
    registry: RegistryOpt = None,
    name: NameOpt = "default",
    min_gain: Annotated[float, typer.Option("--min-gain", help="Required AUC gain.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Promote a challenger if it beats the champion on the same recent holdout CSV."""
    reg = _registry(registry)

    def run() -> dict[str, Any]:
        holdout = None
        if reg.champion_version(name) is not None:
            path, tgt, pos = _require(csv, target, positive)
            table = read_csv(path, sep=sep)
            holdout = Holdout.from_table(table, target=tgt, positive=pos)
        decision = reg.promote(name, version, holdout=holdout, min_gain=min_gain)
        return decision.model_dump()

    _print(_guard(run), as_json)


def rollback(
    registry: RegistryOpt = None, name: NameOpt = "default", as_json: JsonOpt = False
) -> None:
    """Restore the previous champion."""
    reg = _registry(registry)
    restored = _guard(lambda: reg.rollback(name))
    _print({"name": name, "champion": restored}, as_json)


def list_cmd(
    registry: RegistryOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Only this model.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered model versions, champion marked."""
    reg = _registry(registry)
    records = _guard(lambda: reg.list(name))
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    if not records:
        typer.echo("no models registered")
    for r in records:
        mark = "*" if r.champion else " "
        auc = "-" if r.roc_auc is None else f"{r.roc_auc:.4f}"
        when = f"{r.trained_at:%Y-%m-%d %H:%M}"
        typer.echo(f"{mark} {r.name} {r.version:>5} {r.kind:<8} auc={auc} trained={when}")


def retrain(
    connection: Annotated[
        str, typer.Option("--connection", help="Connection whose model to retrain.")
    ],
    config: ConfigOpt = Path("leadbridge.toml"),
    as_json: JsonOpt = False,
) -> None:
    """Run the feedback cycle once: retrain, promote only if better, report drift."""
    from leadbridge.cli.learning import retrain_connection

    with _connected(config, connection) as c:
        report = _guard(
            lambda: retrain_connection(
                c.config, c.connection, c.store, as_of=datetime.now(UTC), rules=c.rules
            )
        )
    payload = report.model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{report.name}: " + (report.cold_start or "challenger " + str(report.challenger)))
    if report.decision is not None:
        typer.echo(f"  {report.decision.reason}")
    if report.drift is not None:
        state = "DRIFT" if report.drift.flagged else "no drift"
        typer.echo(f"  {state}" + "".join(f"\n  - {m}" for m in report.drift.messages))


def register(app: typer.Typer) -> None:
    """Add the ``model`` sub-app to the main CLI."""
    model_app = typer.Typer(help="Predictive scoring models: train, evaluate, promote, roll back.")
    model_app.command("train")(train)
    model_app.command("retrain")(retrain)
    model_app.command("evaluate")(evaluate_cmd)
    model_app.command("promote")(promote)
    model_app.command("rollback")(rollback)
    model_app.command("list")(list_cmd)
    app.add_typer(model_app, name="model")
