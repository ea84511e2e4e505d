"""``leadbridge serve``: the OAuth-protected HTTP API (audit log, exports, privacy requests).

Runs `leadbridge.api.create_app` under uvicorn. Access logs are off: request paths may
carry an e-mail (``/subjects/{subject}/export``), and refused requests are recorded in the
audit log instead, by route template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")] = Path(
        "leadbridge.toml"
    ),
    host: Annotated[str | None, typer.Option(help="Listen address (default: [api].host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: [api].port).")] = None,
) -> None:
    """Serve the HTTP API (OAuth 2.0 bearer JWTs; scopes audit:read, privacy:read/write)."""
    import uvicorn

    from leadbridge.api.app import create_app
    from leadbridge.api.settings import parse_api_settings
    from leadbridge.privacy.config import load_settings
    from leadbridge.privacy.service import PrivacyService
    from leadbridge.reports.dashboard import Dashboard
    from leadbridge.reports.kpis import ReportOptions

    settings = load_settings(config)
    api = parse_api_settings(settings.api, file=str(config), base=config.resolve().parent)
    service = PrivacyService.open(settings)
    assert service.audit is not None
    checkpoints = Path(settings.audit.checkpoints) if settings.audit.checkpoints else None
    dashboard = Dashboard(
        service.store, ReportOptions(crms=tuple(sorted({c.crm for c in settings.base.connection})))
    )
    app = create_app(
        api,
        privacy=service,
        audit=service.audit,
        checkpoints_dir=checkpoints,
        extra_routes=dashboard.scoped_routes(),  # the live KPI dashboard, scope reports:read
    )
    try:
        uvicorn.run(
            app,
            host=host or api.host,
            port=api.port if port is None else port,
            access_log=False,
            lifespan="off",
            log_level="info",
        )
    finally:
        service.close()


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root command."""
    app.command("serve")(serve)
