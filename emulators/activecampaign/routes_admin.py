"""`/_emulator/...`: control and inspection for out-of-process tests (not in the ledger).

A sync running in another process can only be driven over HTTP, so the ledger, fault
settings, API keys, mutations and raw contact state are all reachable here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.activecampaign.config import ActiveCampaignFaults
from leadbridge.emulators.activecampaign.errors import ACHTTPError, bad_request, json_response
from leadbridge.emulators.activecampaign.gateway import Gateway
from leadbridge.emulators.activecampaign.generator import mutate_account
from leadbridge.emulators.activecampaign.params import json_body
from leadbridge.emulators.common.admin import ControlPlane, control_routes, copy_fields, guarded

__all__ = ["admin_routes", "apply_faults"]


def apply_faults(target: ActiveCampaignFaults, update: ActiveCampaignFaults) -> None:
    """Copy every field in place so holders of `target` see the change."""
    copy_fields(ActiveCampaignFaults, target, update)


def _bad(message: str) -> ACHTTPError:
    return bad_request({"message": message})


class AdminRoutes:
    """Handlers for ActiveCampaign's own control routes (keys, raw contacts, ties)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def put_keys(self, request: Request) -> Response:
        keys = (await json_body(request)).get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise bad_request({"message": "'keys' must be a list of non-empty strings"})
        self.gw.api_keys.clear()
        self.gw.api_keys.update(keys)
        return Response(status_code=204)

    async def same_udate(self, request: Request) -> Response:
        body = await json_body(request)
        try:
            n, ts = int(body["n"]), int(body["ts"])
        except (KeyError, TypeError, ValueError):
            raise bad_request({"message": "'n' and 'ts' (epoch seconds) are required"}) from None
        return json_response({"ids": self.gw.account.same_udate(n, ts)})

    async def contact(self, request: Request) -> Response:
        raw = str(request.path_params["id"])
        if not raw.isdigit():
            raise bad_request()
        return json_response(self.gw.account.raw(int(raw)))


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes (no auth, no limits, no ledger)."""
    h = AdminRoutes(gw)
    wrap = guarded(ACHTTPError, lambda exc: exc.response())
    plane = ControlPlane(
        ledger=gw.ledger,
        faults=gw.faults,
        faults_model=ActiveCampaignFaults,
        read_body=json_body,
        bad_request=_bad,
        json_response=json_response,
        mutate=lambda fraction, seed: mutate_account(gw.account, fraction, seed=seed),
        limits=lambda: gw.limits.model_dump(mode="json"),
        mutate_error="'fraction' must be a number and 'seed' an integer",
    )
    return [
        *control_routes(plane, wrap),
        Route("/_emulator/keys", wrap(h.put_keys), methods=["PUT"]),
        Route("/_emulator/contacts/same-udate", wrap(h.same_udate), methods=["POST"]),
        Route("/_emulator/contacts/{id}", wrap(h.contact), methods=["GET"]),
    ]
