"""The live dashboard: the report's page and its figures over HTTP, refreshed as syncs run.

Starlette routes meant to be mounted by `leadbridge serve` (the audit API) under the
``reports:read`` scope (`scoped_routes`), or served alone. The page is the static report
plus a small script polling ``<prefix>/version``: a fingerprint of the store (last run,
last score, outcomes) that changes whenever a sync lands; the page then reloads. KPIs are
recomputed at most once per version, off the event loop, so many viewers cost one
computation per sync.

    GET <prefix>/              the HTML dashboard
    GET <prefix>/metrics.json  every KPI (`KpiReport`) as JSON
    GET <prefix>/advice.json   ?capacity=200&per=week: the threshold advisor
    GET <prefix>/version       {"version": "..."} (cheap; what the page polls)
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from leadbridge.core.errors import ConfigError
from leadbridge.reports.advisor import WEEKS_PER, Per, advise
from leadbridge.reports.dataset import LeadTable, load_leads
from leadbridge.reports.document import render_html
from leadbridge.reports.kpis import KpiReport, ReportOptions, build_report, decided_mask
from leadbridge.sync.state import StateStore, outcomes, runs, score_history

__all__ = ["SCOPE", "Dashboard"]

SCOPE = "reports:read"


@dataclass(frozen=True)
class _Snapshot:
    version: str
    options: ReportOptions
    table: LeadTable
    report: KpiReport
    html: str


class Dashboard:
    """KPIs of one store, cached per store version, served as routes."""

    def __init__(
        self,
        store: StateStore,
        options: ReportOptions | None = None,
        *,
        prefix: str = "/reports",
        refresh_s: float = 10.0,
        title: str = "leadbridge · live scoring KPIs",
    ) -> None:
        self.store = store
        self.options = options or ReportOptions()
        self.prefix = prefix.rstrip("/")
        self.refresh_s = refresh_s
        self.title = title
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def version(self) -> str:
        """A fingerprint that changes when a run finishes, a score lands or an outcome moves."""
        with self.store.engine.connect() as conn:
            parts = [
                conn.execute(
                    sa.select(sa.func.max(runs.c.id), sa.func.count(runs.c.finished_at))
                ).one(),
                conn.execute(sa.select(sa.func.max(score_history.c.id))).one(),
                conn.execute(sa.select(sa.func.count(), sa.func.max(outcomes.c.at))).one(),
            ]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    def snapshot(self) -> _Snapshot:
        """The KPIs of the current store version (computed once per version)."""
        version = self.version()
        with self._lock:
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            options = self.options.model_copy(update={"as_of": self.options.moment()})
            table = load_leads(self.store, connection=options.connection)
            report = build_report(self.store, options, table=table)
            html = render_html(
                report,
                title=self.title,
                scope=options.connection or "all connections",
                live=True,
                data_version=version,
                version_url=f"{self.prefix}/version",
                refresh_s=self.refresh_s,
            )
            self._snapshot = _Snapshot(version, options, table, report, html)
            return self._snapshot

    async def _page(self, request: Request) -> Response:
        snap = await run_in_threadpool(self.snapshot)
        return HTMLResponse(snap.html, headers={"Cache-Control": "no-store"})

    async def _metrics(self, request: Request) -> Response:
        snap = await run_in_threadpool(self.snapshot)
        return JSONResponse(
            snap.report.model_dump(mode="json"),
            headers={"Cache-Control": "no-store", "X-Leadbridge-Version": snap.version},
        )

    async def _version(self, request: Request) -> Response:
        version = await run_in_threadpool(self.version)
        return JSONResponse({"version": version}, headers={"Cache-Control": "no-store"})

    async def _advice(self, request: Request) -> Response:
        try:
            capacity = float(request.query_params.get("capacity", ""))
        except ValueError:
            return _problem("capacity: a positive number of leads is required")
        per = request.query_params.get("per", "week")
        if per not in WEEKS_PER:
            return _problem("per: must be day, week or month")
        snap = await run_in_threadpool(self.snapshot)
        try:
            advice = advise(
                snap.table,
                decided_mask(snap.table, snap.options),
                capacity=capacity,
                per=cast(Per, per),  # checked against WEEKS_PER above
                as_of=snap.options.moment(),
            )
        except ConfigError as exc:
            return _problem(str(exc))
        return JSONResponse(advice.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    def routes(self) -> list[BaseRoute]:
        """The dashboard's routes under `prefix`."""
        p = self.prefix
        return [
            Route(p or "/", self._page, methods=["GET"]),
            Route(f"{p}/", self._page, methods=["GET"]) if p else Route("/index.html", self._page),
            Route(f"{p}/metrics.json", self._metrics, methods=["GET"]),
            Route(f"{p}/advice.json", self._advice, methods=["GET"]),
            Route(f"{p}/version", self._version, methods=["GET"]),
        ]

    def scoped_routes(self) -> list[tuple[BaseRoute, str]]:
        """The routes paired with the OAuth scope they need, for the API app to mount."""
        return [(route, SCOPE) for route in self.routes()]


def _problem(detail: str) -> Response:
    return JSONResponse({"error": "invalid_request", "detail": detail}, status_code=400)
