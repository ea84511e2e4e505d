"""The lifecycle every emulator shares: one background server, used as a context manager.

Tests write ``with XEmulator(data) as emu:``; the start/stop/``with`` protocol and the
"base_url only after start()" rule are the same for every CRM, so they live here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Self

from leadbridge.core.errors import LeadbridgeError
from leadbridge.emulators.common.server import ServerThread

__all__ = ["ContextServed", "EmulatorServer"]


class ContextServed(ABC):
    """``with emulator:`` starts it and always stops it; subclasses define start/stop."""

    @abstractmethod
    def start(self) -> Self:
        """Serve in the background; returns self once requests are accepted."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmulatorServer(ContextServed):
    """An emulator served over plain HTTP by one `ServerThread` built at construction."""

    def _serve(self, app: Any, *, host: str, port: int, name: str) -> None:
        """Prepare (not start) the server; called once from the emulator's ``__init__``."""
        self._server = ServerThread(app, host=host, port=port, name=name)
        self._started = False

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`; valid after `start()`."""
        if not self._started:
            raise LeadbridgeError(f"{type(self).__name__}: base_url is only known after start()")
        return self._server.base_url

    @property
    def port(self) -> int:
        """The bound port (0 before `start()`)."""
        return self._server.port

    def start(self) -> Self:
        """Serve in the background; returns self once requests are accepted."""
        self._server.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()
        self._started = False
