"""`/_emulator/...`: control and inspection for out-of-process tests (not in the ledger).

A sync running in another process can only be driven over HTTP, so the ledger, fault
settings, API keys, mutations and raw contact state are all reachable here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.activecampaign.config import ActiveCampaignFaults
from leadbridge.emulators.activecampaign.errors import ACHTTPError, bad_request, json_response
from leadbridge.emulators.activecampaign.gateway import Gateway
from leadbridge.emulators.activecampaign.generator import mutate_account
from leadbridge.emulators.activecampaign.params import json_body

__all__ = ["admin_routes", "apply_faults"]


def apply_faults(target: ActiveCampaignFaults, update: ActiveCampaignFaults) -> None:
    """Copy every field in place so holders of `target` see the change."""
    for name in ActiveCampaignFaults.model_fields:
        setattr(target, name, getattr(update, name))


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
        try:
            update = ActiveCampaignFaults.model_validate(await json_body(request))
        except ValidationError as exc:
            raise ACHTTPError(
                400, {"message": f"Invalid faults: {exc.errors()[0]['msg']}"}
            ) from None
        apply_faults(self.gw.faults, update)
        return json_response(self.gw.faults.model_dump(mode="json"))

    async def put_keys(self, request: Request) -> Response:
        keys = (await json_body(request)).get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise bad_request({"message": "'keys' must be a list of non-empty strings"})
        self.gw.api_keys.clear()
        self.gw.api_keys.update(keys)
        return Response(status_code=204)

    async def mutate(self, request: Request) -> Response:
        body = await json_body(request)
        try:
            fraction = float(body.get("fraction", 0.01))
            seed = int(body.get("seed", 0))
        except (TypeError, ValueError):
            raise bad_request(
                {"message": "'fraction' must be a number and 'seed' an integer"}
            ) from None
        return json_response({"ids": mutate_account(self.gw.account, fraction, seed=seed)})

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

    async def limits(self, request: Request) -> Response:
        return json_response(self.gw.limits.model_dump(mode="json"))


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes (no auth, no limits, no ledger)."""
    h = AdminRoutes(gw)

    def wrap(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except ACHTTPError as exc:
                return exc.response()
            return response

        return run

    return [
        Route("/_emulator/ledger", wrap(h.ledger), methods=["GET"]),
        Route("/_emulator/ledger/reset", wrap(h.ledger_reset), methods=["POST"]),
        Route("/_emulator/faults", wrap(h.get_faults), methods=["GET"]),
        Route("/_emulator/faults", wrap(h.put_faults), methods=["PUT"]),
        Route("/_emulator/keys", wrap(h.put_keys), methods=["PUT"]),
        Route("/_emulator/mutate", wrap(h.mutate), methods=["POST"]),
        Route("/_emulator/limits", wrap(h.limits), methods=["GET"]),
        Route("/_emulator/contacts/same-udate", wrap(h.same_udate), methods=["POST"]),
        Route("/_emulator/contacts/{id}", wrap(h.contact), methods=["GET"]),
    ]
