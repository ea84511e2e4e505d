"""`/_emulator/...`: control and inspection for out-of-process tests (not in the ledger).

A sync running in a child process (the SIGKILL test) can only be driven over HTTP, so the
ledger, fault settings, mutations and raw contact state are all reachable here.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.admin import ControlPlane, control_routes, copy_fields, guarded
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
    copy_fields(HubSpotFaults, target, update)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise validation_error("Request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object.")
    return body


class AdminRoutes:
    """Handlers for HubSpot's own control routes (raw contacts, timestamp ties)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

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


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes (no auth, no limits, no ledger)."""
    h = AdminRoutes(gw)
    wrap = guarded(HubSpotHTTPError, lambda exc: exc.response())
    plane = ControlPlane(
        ledger=gw.ledger,
        faults=gw.faults,
        faults_model=HubSpotFaults,
        read_body=_body,
        bad_request=validation_error,
        json_response=json_response,
        mutate=lambda fraction, seed: mutate_portal(gw.portal, fraction, seed=seed),
        limits=lambda: gw.limits.model_dump(mode="json"),
        # the dice restart from the new seed so runs replay
        on_faults=lambda update: gw.dice.restart(update.seed),
    )
    return [
        *control_routes(plane, wrap),
        Route("/_emulator/contacts/same-timestamp", wrap(h.same_timestamp), methods=["POST"]),
        Route("/_emulator/contacts/{objectId}", wrap(h.contact), methods=["GET"]),
    ]
