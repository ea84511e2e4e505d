"""`leadbridge report`: the scoring KPIs as one HTML file, and the threshold advisor.

    leadbridge report --out report.html [--pdf] [--config leadbridge.toml | --state PATH]
    leadbridge report advise --capacity 200 --per week

Without `--config` or `--state`, the report reads `leadbridge.toml` when there is one,
else the state `leadbridge demo` leaves behind, so `demo` then `report` just works.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console

from leadbridge.core.errors import ConfigError

if TYPE_CHECKING:
    from leadbridge.reports.advisor import Per
    from leadbridge.reports.kpis import ReportOptions
    from leadbridge.sync.state import StateStore

__all__ = ["register"]

DEMO_STATE = Path(".leadbridge/demo-state.db")
DEFAULT_CONFIG = Path("leadbridge.toml")

console = Console()

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="leadbridge.toml (its state and CRMs).")
]
StateOpt = Annotated[
    str | None, typer.Option("--state", help="A state store: SQLite path or SQLAlchemy URL.")
]
ConnectionOpt = Annotated[str | None, typer.Option(help="Only this connection.")]
MaturityOpt = Annotated[
    float,
    typer.Option(help="Days after which a lead without outcome counts as not converted."),
]
AsOfOpt = Annotated[
    datetime | None, typer.Option("--as-of", help="The report's 'now' (UTC); default: now.")
]
HotOpt = Annotated[
    list[str] | None, typer.Option("--hot-tier", help="A hot tier (repeat; default hot, very_hot).")
]
ColdOpt = Annotated[
    list[str] | None, typer.Option("--cold-tier", help="A cold tier (repeat; default cold).")
]


@dataclass(frozen=True)
class _Source:
    target: str
    crms: dict[str, str]
    label: str


def _source(config: Path | None, state: str | None) -> _Source:
    """Where the state store is: --state, --config, ./leadbridge.toml, or the demo's."""
    if config is not None and state is not None:
        raise ConfigError("give either --config or --state, not both", key="--state")
    if state is None:
        chosen = config
        if chosen is None and DEFAULT_CONFIG.exists():
            chosen = DEFAULT_CONFIG
        if chosen is not None:
            from leadbridge.sync.config import load_config

            cfg = load_config(chosen)
            return _Source(cfg.state, {c.name: c.crm for c in cfg.connection}, str(chosen))
        if not DEMO_STATE.exists():
            raise ConfigError(
                "no state store found: pass --config leadbridge.toml or --state PATH "
                "(or run `leadbridge demo` first)",
                key="--state",
            )
        state = str(DEMO_STATE)
    if "://" not in state and not Path(state).expanduser().exists():
        raise ConfigError(f"no state store at {state}", key="--state")
    return _Source(state, {}, state if "://" not in state else "database URL")


@contextmanager
def _opened(source: _Source) -> Iterator[StateStore]:
    from leadbridge.sync.state import open_store

    store = open_store(source.target)
    try:
        yield store
    finally:
        store.close()


def _options(
    source: _Source,
    *,
    connection: str | None,
    maturity_days: float,
    as_of: datetime | None,
    hot: list[str] | None,
    cold: list[str] | None,
    capacity: float | None = None,
    per: str = "week",
) -> ReportOptions:
    from leadbridge.reports.kpis import ReportOptions

    when = as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of
    fields: dict[str, object] = {
        "connection": connection,
        "maturity_days": maturity_days,
        "as_of": when,
        "crms": source.crms,
        "capacity": capacity,
        "per": per,
    }
    if hot:
        fields["hot_tiers"] = tuple(hot)
    if cold:
        fields["cold_tiers"] = tuple(cold)
    try:
        return ReportOptions.model_validate(fields)
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[-1].strip()) from None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print it to a PDF (needs Chromium).")] = (
        False
    ),
    config: ConfigOpt = None,
    state: StateOpt = None,
    connection: ConnectionOpt = None,
    maturity_days: MaturityOpt = 90.0,
    as_of: AsOfOpt = None,
    capacity: Annotated[
        float | None, typer.Option(help="Include the threshold advisor for this capacity.")
    ] = None,
    per: Annotated[str, typer.Option(help="Capacity period: day, week or month.")] = "week",
    hot_tier: HotOpt = None,
    cold_tier: ColdOpt = None,
) -> None:
    """Write the scoring KPIs report: one self-contained HTML file (and optionally a PDF)."""
    if ctx.invoked_subcommand is not None:
        return
    from leadbridge.reports.document import render_html
    from leadbridge.reports.kpis import build_report
    from leadbridge.reports.pdf import print_pdf

    started = time.perf_counter()
    source = _source(config, state)
    options = _options(
        source,
        connection=connection,
        maturity_days=maturity_days,
        as_of=as_of,
        hot=hot_tier,
        cold=cold_tier,
        capacity=capacity,
        per=per,
    )
    with _opened(source) as store:
        kpis = build_report(store, options)
    html = render_html(kpis, scope=connection or "all connections")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}", key="--out") from None
    elapsed = time.perf_counter() - started
    s, hot = kpis.summary, kpis.hot
    console.print(
        f"{out} written ({out.stat().st_size / 1024:.0f} kB, {elapsed:.1f} s): "
        f"{s.leads_scored:,} scored leads, conversion {_pct(s.conversion_rate)}, "
        f"hot precision {_pct(hot.precision)}, false-positive rate "
        f"{_pct(hot.false_positive_rate)} (target < {_pct(hot.target)}).",
        highlight=False,
    )
    if pdf:
        target = print_pdf(out, out.with_suffix(".pdf"))
        console.print(f"{target} written ({target.stat().st_size / 1024:.0f} kB).")


def advise(
    capacity: Annotated[float, typer.Option(help="Leads the team can handle per period.")],
    per: Annotated[str, typer.Option(help="day (working day), week or month.")] = "week",
    config: ConfigOpt = None,
    state: StateOpt = None,
    connection: ConnectionOpt = None,
    maturity_days: MaturityOpt = 90.0,
    as_of: AsOfOpt = None,
    window_weeks: Annotated[
        float, typer.Option(help="Weeks of recent leads that size the flow.")
    ] = 26.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the advice as JSON.")] = False,
) -> None:
    """The score threshold that fills a sales capacity, with expected conversions."""
    from leadbridge.reports.advisor import advise as advise_threshold
    from leadbridge.reports.dataset import load_leads
    from leadbridge.reports.kpis import decided_mask

    if per not in ("day", "week", "month"):
        raise ConfigError("must be day, week or month", key="--per")
    source = _source(config, state)
    options = _options(
        source, connection=connection, maturity_days=maturity_days, as_of=as_of, hot=None, cold=None
    )
    with _opened(source) as store:
        table = load_leads(store, connection=options.connection)
    advice = advise_threshold(
        table,
        decided_mask(table, options),
        capacity=capacity,
        per=cast("Per", per),  # validated above
        as_of=options.moment(),
        window_weeks=window_weeks,
    )
    if as_json:
        body = advice.model_dump(mode="json", exclude={"curve"})
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    conversions = (
        "–" if advice.expected_conversions is None else f"{advice.expected_conversions:.1f}"
    )
    console.print(
        f"For {advice.capacity:g} leads per {advice.per}: threshold [bold]{advice.threshold}[/bold]"
        f" → about {advice.expected_volume:.1f} leads per {advice.per}, {conversions} conversions"
        f" (precision {_pct(advice.precision)}, recall {_pct(advice.recall)}).",
        highlight=False,
    )
    console.print(
        f"{advice.note}. Flow from {advice.leads_in_window:,} leads over "
        f"{advice.window_weeks:.1f} weeks; outcomes from {advice.decided_leads:,} decided leads.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the ``report`` command (and ``report advise``) to the root command."""
    report_app = typer.Typer(
        help="Scoring KPIs: the HTML report and the threshold advisor.",
        invoke_without_command=True,
    )
    report_app.callback(invoke_without_command=True)(report)
    report_app.command("advise")(advise)
    app.add_typer(report_app, name="report")
