"""The ``/_emulator`` control plane every emulator exposes, built once from its parts.

A sync running in another process can only be steered over HTTP. Ledger, faults,
mutations and limits work the same way on every CRM; only the error body, the JSON
content type and the extra vendor routes differ, so those are what each vendor passes in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.ledger import Ledger

__all__ = ["ControlPlane", "Handler", "control_routes", "copy_fields", "guarded"]

Handler = Callable[[Request], Awaitable[Response]]
_Faults = TypeVar("_Faults", bound=BaseModel)
_Error = TypeVar("_Error", bound=Exception)


def copy_fields(model: type[_Faults], target: _Faults, update: _Faults) -> None:
    """Copy every field of `model` in place so holders of `target` see the change."""
    for name in model.model_fields:
        setattr(target, name, getattr(update, name))


def guarded(
    error_type: type[_Error], render: Callable[[_Error], Response]
) -> Callable[[Handler], Handler]:
    """Wrap handlers so a vendor error raised inside becomes its vendor-shaped answer."""

    def wrap(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except error_type as exc:
                return render(exc)

        return run

    return wrap


@dataclass(frozen=True)
class ControlPlane(Generic[_Faults]):
    """What the shared admin routes act on, and how this vendor answers."""

    ledger: Ledger
    faults: _Faults
    faults_model: type[_Faults]
    read_body: Callable[[Request], Awaitable[dict[str, Any]]]
    bad_request: Callable[[str], Exception]
    json_response: Callable[[Any], Response]
    mutate: Callable[[float, int], list[str]]
    limits: Callable[[], dict[str, Any]]
    on_faults: Callable[[_Faults], None] | None = None
    """Runs after a PUT of the faults (e.g. to restart seeded dice)."""
    mutate_error: str = "'fraction' must be a number and 'seed' an integer."
    """The 400 message for a bad mutate body, in the vendor's punctuation."""


def control_routes(plane: ControlPlane[_Faults], wrap: Callable[[Handler], Handler]) -> list[Route]:
    """Ledger, ledger reset, faults get/put, mutate and limits under ``/_emulator``."""

    async def ledger(request: Request) -> Response:
        return plane.json_response(plane.ledger.snapshot())

    async def ledger_reset(request: Request) -> Response:
        plane.ledger.reset()
        return Response(status_code=204)

    async def get_faults(request: Request) -> Response:
        return plane.json_response(plane.faults.model_dump(mode="json"))

    async def put_faults(request: Request) -> Response:
        try:
            update = plane.faults_model.model_validate(await plane.read_body(request))
        except ValidationError as exc:
            raise plane.bad_request(f"Invalid faults: {exc.errors()[0]['msg']}") from None
        copy_fields(plane.faults_model, plane.faults, update)
        if plane.on_faults is not None:
            plane.on_faults(update)
        return plane.json_response(plane.faults.model_dump(mode="json"))

    async def mutate(request: Request) -> Response:
        body = await plane.read_body(request)
        try:
            fraction = float(body.get("fraction", 0.01))
            seed = int(body.get("seed", 0))
        except (TypeError, ValueError):
            raise plane.bad_request(plane.mutate_error) from None
        return plane.json_response({"ids": plane.mutate(fraction, seed)})

    async def limits(request: Request) -> Response:
        return plane.json_response(plane.limits())

    return [
        Route("/_emulator/ledger", wrap(ledger), methods=["GET"]),
        Route("/_emulator/ledger/reset", wrap(ledger_reset), methods=["POST"]),
        Route("/_emulator/faults", wrap(get_faults), methods=["GET"]),
        Route("/_emulator/faults", wrap(put_faults), methods=["PUT"]),
        Route("/_emulator/mutate", wrap(mutate), methods=["POST"]),
        Route("/_emulator/limits", wrap(limits), methods=["GET"]),
    ]
