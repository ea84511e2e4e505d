"""``/_emulator/…``: control and inspection for tests (no auth, no limits, not counted).

A sync in another process can only be steered over HTTP, so the ledger, the faults,
mutations, deletions, tie-heavy inserts and raw records are all reachable here.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.admin import ControlPlane, control_routes, copy_fields, guarded
from leadbridge.emulators.salesforce.config import SalesforceFaults
from leadbridge.emulators.salesforce.errors import SalesforceHTTPError, json_response, not_found
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.generator import add_same_timestamp, mutate_org

__all__ = ["admin_routes", "apply_faults"]


def apply_faults(target: SalesforceFaults, update: SalesforceFaults) -> None:
    """Copy every field in place so holders of `target` see the change."""
    copy_fields(SalesforceFaults, target, update)


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
    """Handlers for Salesforce's own control routes (records, deletions, ties)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

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

    def limits(self) -> dict[str, Any]:
        """The configured limits plus the API budget used so far."""
        used, maximum = self.gw.usage()
        return {**self.gw.limits.model_dump(mode="json"), "used": used, "max": maximum}


def admin_routes(gw: Gateway) -> list[Route]:
    """The `/_emulator` control routes."""
    h = AdminRoutes(gw)
    wrap = guarded(SalesforceHTTPError, lambda exc: exc.response())
    plane = ControlPlane(
        ledger=gw.ledger,
        faults=gw.faults,
        faults_model=SalesforceFaults,
        read_body=_body,
        bad_request=_bad,
        json_response=json_response,
        mutate=lambda fraction, seed: mutate_org(gw.org, fraction, seed=seed),
        limits=h.limits,
    )
    return [
        *control_routes(plane, wrap),
        Route("/_emulator/leads/same-timestamp", wrap(h.same_timestamp), methods=["POST"]),
        Route("/_emulator/records/{id}", wrap(h.record), methods=["GET"]),
        Route("/_emulator/records/{id}", wrap(h.delete), methods=["DELETE"]),
    ]
