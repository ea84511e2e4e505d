"""``/_emulator/…``: control and inspection for tests (no auth, no limits, not counted).

A sync in another process can only be steered over HTTP, so the ledger, the faults,
mutations, deletions, tie-heavy inserts and raw records are all reachable here.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.salesforce.config import SalesforceFaults
from leadbridge.emulators.salesforce.errors import SalesforceHTTPError, json_response, not_found
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.generator import add_same_timestamp, mutate_org

__all__ = ["admin_routes", "apply_faults"]


def apply_faults(target: SalesforceFaults, update: SalesforceFaults) -> None:
    """Copy every field in place so holders of `target` see the change."""
    for name in SalesforceFaults.model_fields:
        setattr(target, name, getattr(update, name))


def _bad(message: str) -> SalesforceHTTPError:
    return SalesforceHTTPError(400, message, "INVALID_INPUT")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise _bad("Request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object.")
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
        try:
            update = SalesforceFaults.model_validate(await _body(request))
        except ValidationError as exc:
            raise _bad(f"Invalid faults: {exc.errors()[0]['msg']}") from None
        apply_faults(self.gw.faults, update)
        return json_response(self.gw.faults.model_dump(mode="json"))

    async def mutate(self, request: Request) -> Response:
        body = await _body(request)
        try:
            fraction = float(body.get("fraction", 0.01))
            seed = int(body.get("seed", 0))
        except (TypeError, ValueError):
            raise _bad("'fraction' must be a number and 'seed' an integer.") from None
        return json_response({"ids": mutate_org(self.gw.org, fraction, seed=seed)})

    async def same_timestamp(self, request: Request) -> Response:
        body = await _body(request)
        try:
            n, ts = int(body["n"]), int(body["ts"])
        except (KeyError, TypeError, ValueError):
            raise _bad("'n' and 'ts' (epoch ms) are required integers.") from None
        return json_response({"ids": add_same_timestamp(self.gw.org, n, ts)})

    async def record(self, request: Request) -> Response:
        record_id = str(request.path_params["id"])
        sobject = self.gw.org.type_of_id(record_id)
        row = self.gw.org.records.get(sobject or "", {}).get(record_id)
        if row is None:
            raise not_found()
        return json_response({k: v for k, v in row.items()})

    async def delete(self, request: Request) -> Response:
        record_id = str(request.path_params["id"])
        sobject = self.gw.org.type_of_id(record_id)
        if sobject is None or not self.gw.org.delete(sobject, record_id):
            raise not_found()
        return Response(status_code=204)

    async def limits(self, request: Request) -> Response:
        used, maximum = self.gw.usage()
        return json_response(
            {**self.gw.limits.model_dump(mode="json"), "used": used, "max": maximum}
        )


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes."""
    h = AdminRoutes(gw)

    def wrap(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except SalesforceHTTPError as exc:
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
        Route("/_emulator/leads/same-timestamp", wrap(h.same_timestamp), methods=["POST"]),
        Route("/_emulator/records/{id}", wrap(h.record), methods=["GET"]),
        Route("/_emulator/records/{id}", wrap(h.delete), methods=["DELETE"]),
    ]
