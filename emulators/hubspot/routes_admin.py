"""`/_emulator/...`: control and inspection for out-of-process tests (not in the ledger).

A sync running in a child process (the SIGKILL test) can only be driven over HTTP, so the
ledger, fault settings, mutations and raw contact state are all reachable here.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.hubspot.config import HubSpotFaults
from leadbridge.emulators.hubspot.errors import (
    HubSpotHTTPError,
    json_response,
    not_found,
    validation_error,
)
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.generator import mutate_portal

__all__ = ["admin_routes", "apply_faults"]


def apply_faults(target: HubSpotFaults, update: HubSpotFaults) -> None:
    """Copy every field in place so holders of `target` see the change."""
    for name in HubSpotFaults.model_fields:
        setattr(target, name, getattr(update, name))


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise validation_error("Request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object.")
    return body


class AdminRoutes:
    """Handlers for the control plane."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def ledger(self, request: Request) -> Response:
        return json_response(self.gw.ledger.snapshot())

    async def ledger_reset(self, request: Request) -> Response:
        self.gw.ledger.reset()
        return Response(status_code=204)

    async def get_faults(self, request: Request) -> Response:
        return json_response(self.gw.faults.model_dump(mode="json"))

    async def put_faults(self, request: Request) -> Response:
        """Replace the fault settings; the dice restart from `seed` so runs replay."""
        try:
            update = HubSpotFaults.model_validate(await _body(request))
        except ValidationError as exc:
            raise validation_error(f"Invalid faults: {exc.errors()[0]['msg']}") from None
        apply_faults(self.gw.faults, update)
        self.gw.dice.restart(update.seed)
        return json_response(self.gw.faults.model_dump(mode="json"))

    async def mutate(self, request: Request) -> Response:
        body = await _body(request)
        try:
            fraction = float(body.get("fraction", 0.01))
            seed = int(body.get("seed", 0))
        except (TypeError, ValueError):
            raise validation_error("'fraction' must be a number and 'seed' an integer.") from None
        return json_response({"ids": mutate_portal(self.gw.portal, fraction, seed=seed)})

    async def contact(self, request: Request) -> Response:
        raw = request.path_params["objectId"]
        state = self.gw.portal.raw_contact(int(raw)) if raw.isdigit() else None
        if state is None:
            raise not_found()
        return json_response(state)

    async def same_timestamp(self, request: Request) -> Response:
        body = await _body(request)
        try:
            n, ts = int(body["n"]), int(body["ts"])
        except (KeyError, TypeError, ValueError):
            raise validation_error("'n' and 'ts' (epoch ms) are required integers.") from None
        return json_response({"ids": self.gw.portal.add_contacts_same_timestamp(n, ts)})

    async def limits(self, request: Request) -> Response:
        return json_response(self.gw.limits.model_dump(mode="json"))


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes (no auth, no limits, no ledger)."""
    h = AdminRoutes(gw)

    def wrap(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except HubSpotHTTPError as exc:
                return exc.response()
            return response

        return run

    return [
        Route("/_emulator/ledger", wrap(h.ledger), methods=["GET"]),
        Route("/_emulator/ledger/reset", wrap(h.ledger_reset), methods=["POST"]),
        Route("/_emulator/faults", wrap(h.get_faults), methods=["GET"]),
        Route("/_emulator/faults", wrap(h.put_faults), methods=["PUT"]),
        Route("/_emulator/mutate", wrap(h.mutate), methods=["POST"]),
        Route("/_emulator/limits", wrap(h.limits), methods=["GET"]),
        Route("/_emulator/contacts/same-timestamp", wrap(h.same_timestamp), methods=["POST"]),
        Route("/_emulator/contacts/{objectId}", wrap(h.contact), methods=["GET"]),
    ]
