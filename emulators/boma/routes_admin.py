"""`/_emulator/...`: control and inspection for out-of-process tests (not in the ledger).

A sync running in another process can only be driven over HTTP, so the ledger, fault
settings, mutations, deletions, same-timestamp bursts and raw lead state are reachable
here without credentials.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.boma.config import BomaFaults
from leadbridge.emulators.boma.errors import BomaHTTPError, bad_request, json_response, not_found
from leadbridge.emulators.boma.gateway import Gateway
from leadbridge.emulators.boma.generator import add_same_timestamp, mutate_boma
from leadbridge.emulators.boma.views import json_body, lead_json
from leadbridge.emulators.common.admin import ControlPlane, control_routes, copy_fields, guarded
from leadbridge.emulators.common.timefmt import now_ms

__all__ = ["admin_routes", "apply_faults"]


def apply_faults(target: BomaFaults, update: BomaFaults) -> None:
    """Copy every field in place so holders of `target` see the change."""
    copy_fields(BomaFaults, target, update)


class AdminRoutes:
    """Handlers for BOMA's own control routes (deletions, ties, raw leads)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def delete(self, request: Request) -> Response:
        body = await json_body(request)
        ids = body.get("ids")
        if not isinstance(ids, list):
            raise bad_request("'ids' must be a list of lead ids.")
        at = now_ms()
        done = [str(i) for i in ids if str(i).isdigit() and self.gw.store.delete_lead(int(i), at)]
        return json_response({"ids": done})

    async def same_timestamp(self, request: Request) -> Response:
        body = await json_body(request)
        try:
            n, ts = int(body["n"]), int(body["ts"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("'n' and 'ts' (epoch ms) are required integers.") from None
        return json_response({"ids": add_same_timestamp(self.gw.store, n, ts)})

    async def lead(self, request: Request) -> Response:
        raw = request.path_params["lead_id"]
        store = self.gw.store
        with store.lock:
            row = store.leads.get(int(raw)) if raw.isdigit() else None
            if row is None:
                raise not_found(f"Lead {raw} not found.")
            state: dict[str, Any] = lead_json(row)
            state["example_properties"] = dict(row.example_props)
        return json_response(state)


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes (no auth, no limits, no ledger)."""
    h = AdminRoutes(gw)
    wrap = guarded(BomaHTTPError, lambda exc: exc.response())
    plane = ControlPlane(
        ledger=gw.ledger,
        faults=gw.faults,
        faults_model=BomaFaults,
        read_body=json_body,
        bad_request=bad_request,
        json_response=json_response,
        mutate=lambda fraction, seed: mutate_boma(gw.store, fraction, seed=seed),
        limits=lambda: gw.limits.model_dump(mode="json"),
    )
    return [
        *control_routes(plane, wrap),
        Route("/_emulator/delete", wrap(h.delete), methods=["POST"]),
        Route("/_emulator/leads/same-timestamp", wrap(h.same_timestamp), methods=["POST"]),
        Route("/_emulator/leads/{lead_id}", wrap(h.lead), methods=["GET"]),
    ]
