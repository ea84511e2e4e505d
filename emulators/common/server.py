"""Serve an ASGI app with uvicorn on a background thread, on a port chosen by the OS.

Every emulator is a real HTTP server on 127.0.0.1 so connectors are exercised through
their genuine HTTP stack; binding port 0 lets parallel tests never collide.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn

from leadbridge.core.errors import LeadbridgeError

__all__ = ["ServerThread"]


class ServerThread:
    """One uvicorn server in one daemon thread; `start()` returns once it accepts."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self._app = app
        self._ssl_certfile = ssl_certfile
        self._ssl_keyfile = ssl_keyfile
        self._host = host
        self._requested_port = port
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """`http://host:port` (`https://` when serving TLS) of the running server."""
        scheme = "https" if self._ssl_certfile else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Bind, start serving and wait until the server is ready."""
        if self._thread is not None:
            return
        # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets of that proto,
        # and without it every small response waits ~40 ms for a delayed ACK (Nagle).
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._requested_port))
        except OSError as exc:
            sock.close()
            raise LeadbridgeError(
                f"{self._name}: cannot bind {self._host}:{self._requested_port}: {exc.strerror}"
            ) from exc
        sock.listen(1024)
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            ssl_certfile=self._ssl_certfile,
            ssl_keyfile=self._ssl_keyfile,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name=f"{self._name}-server",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        waited = 0.0
        while not server.started:
            if not thread.is_alive() or waited > timeout_s:
                self.stop()
                raise LeadbridgeError(f"{self._name}: server did not start")
            thread.join(0.01)
            waited += 0.01

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None
