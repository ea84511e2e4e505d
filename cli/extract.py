"""`leadbridge extract`: entity extraction from lead messages on the command line.

    leadbridge extract --json < messages.jsonl > facts.jsonl
    leadbridge extract correct --text "..." --field job_status --value permanent
    leadbridge extract retrain
    leadbridge extract train

`extract --json` reads one JSON object per line (``text``, optional ``lang``,
``sent_at`` ISO 8601, ``id``) and writes one JSON object per line (``line``, ``id``,
``lang``, ``fields`` with value/confidence/span/text, ``quality``, ``warnings``);
``--crm`` writes seed 001's BOMA payload instead. A bad input line gets one error line
on stderr and processing goes on; the exit code is 1 if any line was bad. The model is
the one `retrain` wrote (``.leadbridge/extraction-model.npz``) when it exists, else the
shipped one, unless ``--model`` says otherwise.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from leadbridge.core.errors import ConfigError, LeadbridgeError

__all__ = ["register"]

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Model file (default: the retrained one if present, else shipped).",
        dir_okay=False,
    ),
]
StoreOption = Annotated[
    Path, typer.Option("--store", help="Corrections database (SQLite).", dir_okay=False)
]


def _model_path(model: Path | None) -> Path | None:
    from leadbridge.scoring.extraction.corrections import DEFAULT_RETRAINED_MODEL

    if model is not None:
        if not model.is_file():
            raise ConfigError("model file not found", file=str(model))
        return model
    return DEFAULT_RETRAINED_MODEL if DEFAULT_RETRAINED_MODEL.is_file() else None


def _parse_line(raw: str) -> tuple[str, str | None, datetime | None, Any]:
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc})") from exc
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object")
    text = row.get("text")
    if not isinstance(text, str):
        raise ValueError("missing string field 'text'")
    lang = row.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise ValueError("'lang' must be a string")
    sent_at: datetime | None = None
    if row.get("sent_at") is not None:
        try:
            sent_at = datetime.fromisoformat(str(row["sent_at"]))
        except ValueError as exc:
            raise ValueError(f"'sent_at' is not ISO 8601 ({exc})") from exc
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
    return text, lang, sent_at, row.get("id")


def _run_jsonl(model: Path | None, threshold: float, crm: bool, source: str) -> int:
    from leadbridge.scoring.extraction import Extractor

    extractor = Extractor(model_path=_model_path(model), threshold=threshold)
    bad = 0
    out = sys.stdout.buffer
    for number, raw in enumerate(sys.stdin, start=1):
        if not raw.strip():
            continue
        try:
            text, lang, sent_at, ident = _parse_line(raw)
        except ValueError as exc:
            bad += 1
            sys.stderr.write(f"line {number}: {exc}\n")
            continue
        result = extractor.extract(text, lang, sent_at)
        body = result.to_crm_fields(threshold, lead_source=source) if crm else result.to_json()
        record: dict[str, Any] = {"line": number, "id": ident, **body}
        out.write(orjson.dumps(record) + b"\n")
    out.flush()
    return 1 if bad else 0


def register(app: typer.Typer) -> None:
    """Add the ``extract`` command group to `app`."""
    extract_app = typer.Typer(
        help="Extract lead facts (amounts, job, property, timing) from messages.",
        invoke_without_command=True,
    )

    @extract_app.callback(invoke_without_command=True)
    def _extract(
        ctx: typer.Context,
        as_json: Annotated[
            bool,
            typer.Option("--json", help="Read JSON lines on stdin, write JSON lines on stdout."),
        ] = False,
        model: ModelOption = None,
        threshold: Annotated[
            float,
            typer.Option(help="Confidence below which a field is 'to verify'.", min=0.0, max=1.0),
        ] = 0.85,
        crm: Annotated[
            bool, typer.Option("--crm", help="Write the BOMA CRM payload per message.")
        ] = False,
        source: Annotated[
            str, typer.Option("--source", help="lead_source of --crm payloads.")
        ] = "api",
    ) -> None:
        """Extract facts from messages (``--json``), or run a subcommand."""
        if ctx.invoked_subcommand is not None:
            return
        if not as_json:
            typer.echo(ctx.get_help())
            raise typer.Exit(2)
        raise typer.Exit(_run_jsonl(model, threshold, crm, source))

    @extract_app.command("correct")
    def _correct(
        field: Annotated[str, typer.Option("--field", help="Field to correct, e.g. job_status.")],
        value: Annotated[
            str, typer.Option("--value", help="Correct value; 'none' if the field has none.")
        ],
        text: Annotated[str | None, typer.Option("--text", help="The message text.")] = None,
        message_id: Annotated[
            str | None, typer.Option("--message-id", help="The CRM's message id.")
        ] = None,
        lang: Annotated[str | None, typer.Option("--lang", help="Message language.")] = None,
        sent_at: Annotated[
            str | None, typer.Option("--sent-at", help="Message date, ISO 8601.")
        ] = None,
        store: StoreOption = Path(".leadbridge/extraction.db"),
    ) -> None:
        """Store a human correction of one field of one message (used by ``retrain``)."""
        from leadbridge.scoring.extraction.corrections import CorrectionStore

        when: datetime | None = None
        if sent_at is not None:
            try:
                when = datetime.fromisoformat(sent_at)
            except ValueError as exc:
                raise ConfigError("not an ISO 8601 date", key="--sent-at") from exc
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        ident = CorrectionStore(store).correct(
            message_id, field, value, text=text, lang=lang, sent_at=when
        )
        typer.echo(f"correction {ident} stored in {store}")

    @extract_app.command("retrain")
    def _retrain(
        store: StoreOption = Path(".leadbridge/extraction.db"),
        out: Annotated[
            Path, typer.Option("--out", help="Model file to write.", dir_okay=False)
        ] = Path(".leadbridge/extraction-model.npz"),
        size: Annotated[
            int, typer.Option("--size", min=100, help="Synthetic messages to generate.")
        ] = 12000,
        seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 1,
    ) -> None:
        """Retrain on the synthetic corpus plus every stored correction."""
        from leadbridge.scoring.extraction.corrections import CorrectionStore, retrain

        report = retrain(CorrectionStore(store), out=out, n=size, seed=seed)
        typer.echo(
            f"trained on {report.messages} synthetic messages and {report.corrections} corrected "
            f"ones in {report.seconds:.1f}s; model written to {out}"
        )

    @extract_app.command("train")
    def _train(
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Model file (default: the shipped one).", dir_okay=False),
        ] = None,
        size: Annotated[
            int, typer.Option("--size", min=100, help="Synthetic messages to generate.")
        ] = 12000,
        seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 1,
    ) -> None:
        """Rebuild the model from the synthetic generator alone (deterministic)."""
        from leadbridge.scoring.extraction.model import DEFAULT_MODEL_PATH
        from leadbridge.scoring.extraction.training import train

        target = out or DEFAULT_MODEL_PATH
        try:
            report = train(n=size, seed=seed, out=target)
        except OSError as exc:
            raise LeadbridgeError(f"cannot write {target}: {exc}") from exc
        typer.echo(
            f"trained on {report.messages} synthetic messages in {report.seconds:.1f}s; "
            f"model written to {target}"
        )

    app.add_typer(extract_app, name="extract")
