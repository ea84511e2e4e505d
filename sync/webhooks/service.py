"""The daemon's HTTP service: ``/health``, ``/metrics`` and the webhook endpoints.

A Starlette app served by uvicorn on a background thread, bound before `start()`
returns (port 0 picks a free one), loopback by default: put a TLS-terminating proxy in
front to receive webhooks from the internet.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leadbridge.core.errors import ConfigError
from leadbridge.sync.metrics import CONTENT_TYPE, DaemonMetrics

__all__ = ["HttpService", "build_app"]

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


def build_app(
    metrics: DaemonMetrics, health: HealthCheck, extra: Sequence[BaseRoute] = ()
) -> Starlette:
    """The routes: health (200 healthy, 503 not), Prometheus text, then `extra`."""

    async def health_endpoint(_request: Request) -> Response:
        healthy, body = health()
        return Response(
            orjson.dumps(body, option=orjson.OPT_INDENT_2),
            status_code=200 if healthy else 503,
            media_type="application/json",
        )

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [
        Route("/health", health_endpoint, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *extra,
    ]
    return Starlette(routes=routes)


class HttpService:
    """uvicorn on one daemon thread; `start()` returns once the socket accepts."""

    def __init__(self, app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._requested = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        if self._thread is not None:
            return
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._requested))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {self._host}:{self._requested}: {exc.strerror}",
                key="daemon.port",
            ) from None
        sock.listen(256)
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        server = uvicorn.Server(config)
        self._server = server

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=serve, name="lb-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(
                    f"the HTTP service did not start on {self._host}:{self.port}",
                    key="daemon.port",
                )
            time.sleep(0.01)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
