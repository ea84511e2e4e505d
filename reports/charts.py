"""The report's charts: Vega-Lite specs (built with Vega-Altair), rendered to inline SVG.

Why server-side SVG rather than a JavaScript charting library in the page: the report
must open from a single file with no network, stay under 5 MB and print to PDF. Plotly's
bundle alone is ~4.5 MB and Vega's three bundles ~1 MB, while `vl-convert` renders the
same Vega-Lite specs to SVG in-process (its Deno/V8 runtime ships in the wheel, nothing
is downloaded), at ~0.1 s a chart, and a chart becomes 10-80 kB of plain SVG that any
browser, e-mail client or PDF printer shows. Only aggregates reach a chart (tiers,
deciles, periods, thresholds), never one mark per lead, so size and time do not grow
with the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import vl_convert as vlc

from leadbridge.core.errors import LeadbridgeError
from leadbridge.reports.advisor import WEEKS_PER
from leadbridge.reports.kpis import KpiReport

__all__ = ["Chart", "render_charts"]

WIDTH = 520
TIER_COLORS = {"cold": "#6baed6", "warm": "#fdae6b", "hot": "#f16913", "very_hot": "#a50f15"}
BAND_LABELS = [f"{10 * b}-{10 * b + 9}" if b < 9 else "90-100" for b in range(10)]


@dataclass(frozen=True)
class Chart:
    """One rendered chart: a stable name (HTML id), a title and its SVG markup."""

    name: str
    title: str
    svg: str


def _data(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Inline data (a Vega-Lite ``{"values": [...]}``): aggregates only, never per-lead rows."""
    return {"values": list(rows)}


def _spec(chart: Any) -> dict[str, Any]:
    """The finished Vega-Lite spec of an Altair chart."""
    spec: dict[str, Any] = chart.configure_view(stroke=None).configure(font="sans-serif").to_dict()
    return spec


def _tier_scale(tiers: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(tiers), range=[TIER_COLORS.get(t, "#888888") for t in tiers])


def _tiers(report: KpiReport) -> dict[str, Any] | None:
    if not report.tiers:
        return None
    rows = [r.model_dump() for r in report.tiers]
    names = [r.tier for r in report.tiers]
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("tier:N", sort=names, title="tier"),
        color=alt.Color("tier:N", scale=_tier_scale(names), legend=None),
    )
    leads = base.mark_bar().encode(
        y=alt.Y("leads:Q", title="scored leads"), tooltip=["tier:N", "leads:Q"]
    )
    conv = base.mark_bar().encode(
        y=alt.Y(
            "conversion_rate:Q",
            title="conversion rate (decided leads)",
            axis=alt.Axis(format=".0%"),
        ),
    )
    labels = base.mark_text(dy=-6).encode(
        y="conversion_rate:Q", text=alt.Text("conversion_rate:Q", format=".1%")
    )
    return _spec(
        alt.hconcat(
            leads.properties(width=WIDTH // 2 - 20, height=220, title="Leads per tier"),
            (conv + labels).properties(
                width=WIDTH // 2 - 20, height=220, title="Conversion per tier"
            ),
        )
    )


def _deciles(report: KpiReport) -> dict[str, Any] | None:
    if not report.deciles:
        return None
    rows = [r.model_dump() for r in report.deciles]
    base = alt.Chart(_data(rows)).encode(x=alt.X("decile:O", title="score decile (1 = best)"))
    bars = base.mark_bar(color="#3182bd").encode(
        y=alt.Y("conversion_rate:Q", title="conversion rate", axis=alt.Axis(format=".0%"))
    )
    text = base.mark_text(dy=-6).encode(
        y="conversion_rate:Q", text=alt.Text("lift:Q", format=".1f")
    )
    return _spec(
        (bars + text).properties(
            width=WIDTH, height=220, title="Conversion by decile (labels: lift)"
        )
    )


def _gains(report: KpiReport) -> dict[str, Any] | None:
    if not report.deciles or report.deciles[-1].cumulative_gain is None:
        return None
    rows = [
        {"leads": 0.0, "gain": 0.0, "curve": "score"},
        {"leads": 0.0, "gain": 0.0, "curve": "random"},
    ]
    for r in report.deciles:
        rows.append({"leads": r.cumulative_leads, "gain": r.cumulative_gain, "curve": "score"})
    rows.append({"leads": 1.0, "gain": 1.0, "curve": "random"})
    return _spec(
        alt.Chart(_data(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "leads:Q",
                title="share of leads called (best first)",
                axis=alt.Axis(format=".0%"),
            ),
            y=alt.Y("gain:Q", title="share of conversions captured", axis=alt.Axis(format=".0%")),
            color=alt.Color("curve:N", scale=alt.Scale(range=["#999999", "#3182bd"]), title=None),
            strokeDash=alt.StrokeDash("curve:N", legend=None),
        )
        .properties(width=WIDTH, height=240, title="Cumulative gains")
    )


def _segments(report: KpiReport) -> dict[str, Any] | None:
    if not report.segments:
        return None
    charts = []
    for dimension in dict.fromkeys(r.dimension for r in report.segments):
        rows = [r.model_dump() for r in report.segments if r.dimension == dimension]
        charts.append(
            alt.Chart(_data(rows))
            .mark_bar(color="#756bb1")
            .encode(
                y=alt.Y("value:N", sort="-x", title=None),
                x=alt.X("conversion_rate:Q", title="conversion", axis=alt.Axis(format=".0%")),
            )
            .properties(width=170, height=alt.Step(14), title=dimension)
        )
    return _spec(alt.concat(*charts, columns=3))


def _velocity(report: KpiReport) -> dict[str, Any] | None:
    rows = [r.model_dump() for r in report.velocity if r.tier != "all"]
    if not rows:
        return None
    names = [t.tier for t in report.tiers]
    return _spec(
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            x=alt.X("stage:N", sort=["mql", "sql", "won"], title="stage reached"),
            xOffset=alt.XOffset("tier:N", sort=names),
            y=alt.Y("median_days:Q", title="median days from creation"),
            color=alt.Color("tier:N", scale=_tier_scale(names), sort=names),
        )
        .properties(width=WIDTH, height=220, title="Velocity: days to MQL, SQL and won")
    )


def _distribution(report: KpiReport, basis: str) -> dict[str, Any] | None:
    periods = [r for r in report.distribution if r.basis == basis]
    if not periods:
        return None
    rows = [
        {"period": r.period, "band": BAND_LABELS[b], "order": b, "leads": n}
        for r in periods
        for b, n in enumerate(r.bands)
        if n
    ]
    title = "Scores computed per period" if basis == "scored" else "Scores by lead creation cohort"
    return _spec(
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            x=alt.X("period:O", title=None),
            y=alt.Y(
                "leads:Q",
                stack="normalize",
                title="share of leads",
                axis=alt.Axis(format=".0%"),
            ),
            color=alt.Color(
                "band:O",
                sort=BAND_LABELS,
                scale=alt.Scale(scheme="redyellowblue", reverse=True),
                title="score",
            ),
            order=alt.Order("order:Q"),
        )
        .properties(width=WIDTH, height=220, title=title)
    )


def _drift(report: KpiReport) -> dict[str, Any] | None:
    rows = [
        {"period": r.period, "basis": r.basis, "mean score": r.mean_score, "PSI": r.psi}
        for r in report.distribution
        if r.psi is not None
    ]
    if len({r["period"] for r in rows}) < 2:
        return None
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("period:O", title=None), color=alt.Color("basis:N", title="by")
    )
    mean = base.mark_line(point=True).encode(y=alt.Y("mean score:Q", title="mean score"))
    psi = base.mark_line(point=True).encode(y=alt.Y("PSI:Q", title="PSI vs reference"))
    rule = (
        alt.Chart(_data([{"y": 0.25}]))
        .mark_rule(color="#a50f15", strokeDash=[4, 3])
        .encode(y="y:Q")
    )
    return _spec(
        alt.vconcat(
            mean.properties(width=WIDTH, height=150, title="Mean score over time"),
            (psi + rule).properties(
                width=WIDTH, height=150, title="Drift (PSI; dashed: major shift)"
            ),
        )
    )


def _api(report: KpiReport) -> dict[str, Any] | None:
    rows = [r.model_dump() for r in report.operations.api_days]
    if not rows:
        return None
    return _spec(
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            x=alt.X("day:O", title=None),
            y=alt.Y("sum(calls):Q", title="API calls"),
            color=alt.Color("kind:N", title="call"),
            column=alt.Column("crm:N", title=None),
        )
        .properties(width=max(120, WIDTH // max(1, len({r["crm"] for r in rows})) - 40), height=180)
    )


def _advice(report: KpiReport) -> dict[str, Any] | None:
    advice = report.advice
    if advice is None:
        return None
    rows = [p.model_dump() for p in advice.curve]
    base = alt.Chart(_data(rows)).encode(x=alt.X("threshold:Q", title="score threshold"))
    capacity = (
        alt.Chart(_data([{"y": advice.capacity / WEEKS_PER[advice.per]}]))
        .mark_rule(color="#636363")
        .encode(y="y:Q")
    )
    volume = base.mark_line(color="#3182bd").encode(
        y=alt.Y("weekly_volume:Q", title="leads per week")
    )
    precision = base.mark_line(color="#31a354").encode(
        y=alt.Y("precision:Q", title="precision", axis=alt.Axis(format=".0%"))
    )
    marker = (
        alt.Chart(_data([{"threshold": advice.threshold}]))
        .mark_rule(color="#a50f15", strokeDash=[4, 3])
        .encode(x="threshold:Q")
    )
    return _spec(
        alt.hconcat(
            (volume + capacity + marker).properties(
                width=WIDTH // 2 - 20, height=200, title="Weekly flow above threshold"
            ),
            (precision + marker).properties(
                width=WIDTH // 2 - 20, height=200, title="Precision above threshold"
            ),
        )
    )


def _signals(report: KpiReport) -> dict[str, Any] | None:
    rows = [s.model_dump() for s in report.false_negatives.signals if s.lift is not None]
    if not rows:
        return None
    return _spec(
        alt.Chart(_data(rows))
        .mark_bar(color="#e6550d")
        .encode(
            y=alt.Y("kind:N", sort="-x", title=None),
            x=alt.X("lift:Q", title="lift: missed conversions vs cold non-converters"),
        )
        .properties(width=WIDTH - 140, height=alt.Step(16), title="Signals of missed conversions")
    )


_ID = re.compile(r'\bid="([^"]+)"')


def _scope_ids(svg: str, prefix: str) -> str:
    """Prefix the SVG's element ids: several inline SVGs share one HTML id space."""
    ids = set(_ID.findall(svg))
    for name in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}-{name}"')
        svg = svg.replace(f"url(#{name})", f"url(#{prefix}-{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}-{name}"')
    return svg


def _svg(name: str, spec: dict[str, Any]) -> str:
    try:
        svg = vlc.vegalite_to_svg(spec)
    except ValueError as exc:  # vl-convert reports spec errors as ValueError
        raise LeadbridgeError(f"chart {name!r} could not be rendered: {exc}") from exc
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)
    return _scope_ids(svg, f"c-{name}")


def render_charts(report: KpiReport) -> list[Chart]:
    """Every chart the report has data for, in reading order."""
    builders: list[tuple[str, str, dict[str, Any] | None]] = [
        ("tiers", "Tiers: volume and conversion", _tiers(report)),
        ("deciles", "Conversion and lift by score decile", _deciles(report)),
        ("gains", "Cumulative gains", _gains(report)),
        ("signals", "False negatives: signals the score misses", _signals(report)),
        ("velocity", "Funnel velocity per tier", _velocity(report)),
        ("segments", "Conversion per segment", _segments(report)),
        ("dist-created", "Score distribution by creation cohort", _distribution(report, "created")),
        ("dist-scored", "Score distribution by scoring period", _distribution(report, "scored")),
        ("drift", "Mean score and drift", _drift(report)),
        ("advice", "Threshold advisor", _advice(report)),
        ("api", "API calls per CRM and day", _api(report)),
    ]
    return [
        Chart(name, title, _svg(name, chart))
        for name, title, chart in builders
        if chart is not None
    ]
