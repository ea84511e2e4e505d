"""``/import/bulk_import`` and ``/import/info``: AC's asynchronous bulk importer.

A request holds at most 250 contacts. Validation is all-or-nothing: one bad row answers
400 ``{success: 0, message, failureReasons: [{contact: <index>, failureReason}]}`` and
nothing is queued. A valid request is queued (``batchId``) and applied after a delay;
rows that fail then (a date field that does not parse, an excluded address) are listed
by e-mail under ``failure``. At most 100 imports per minute per account.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.activecampaign.account import ImportRow, valid_email
from leadbridge.emulators.activecampaign.errors import ACHTTPError, json_response
from leadbridge.emulators.activecampaign.gateway import API_PREFIX, Gateway
from leadbridge.emulators.activecampaign.params import json_body

__all__ = ["import_routes"]

NOT_QUEUED = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)
RATE_REASON = (
    "Up to 100 imports may be requested per minute.Please batch contacts into larger "
    "requests, or retry this request in a minute."
)


def _rejected(reasons: list[Any]) -> ACHTTPError:
    return ACHTTPError(400, {"success": 0, "message": NOT_QUEUED, "failureReasons": reasons})


class ImportRoutes:
    """Handlers bound to one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.account = gateway.account

    def _row(self, index: int, raw: Any, reasons: list[dict[str, Any]]) -> ImportRow | None:
        def fail(reason: str) -> None:
            reasons.append({"contact": index, "failureReason": reason})

        if not isinstance(raw, dict):
            fail("Contact must be an object")
            return None
        email = raw.get("email")
        if not isinstance(email, str) or not email.strip():
            fail("Field 'email' is required")
            return None
        if not valid_email(email.strip()):
            fail("Field\u2018 email\u2019 incorrect format")
            return None
        fields: list[tuple[int, str]] = []
        for entry in raw.get("fields") or []:
            fid = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(fid, str) and fid.isdigit():
                fid = int(fid)
            if not isinstance(fid, int) or isinstance(fid, bool) or "value" not in entry:
                fail("Field 'fields' entries need an integer 'id' and a 'value'")
                return None
            if fid not in self.account.fields:
                fail(f"Field 'fields' references unknown custom field id {fid}")
                return None
            value = entry["value"]
            fields.append((fid, "" if value is None else str(value)))

        def opt(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else str(value)

        return ImportRow(
            email.strip(), opt("first_name"), opt("last_name"), opt("phone"), tuple(fields)
        )

    async def bulk_import(self, request: Request) -> Response:
        limits = self.gw.limits
        decision = self.gw.imports.acquire(self.account.name)
        if not decision.allowed:
            headers = {}
            if limits.import_limit_status == 429:
                headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_s)))
            body = {
                "success": 0,
                "message": "Rate limit exceeded.",
                "failureReasons": [RATE_REASON],
            }
            return json_response(body, limits.import_limit_status, headers)
        try:
            body = await json_body(request)
        except ACHTTPError:
            raise _rejected(["The request body must be a JSON object."]) from None
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            raise _rejected(["'contacts' is a required field."])
        if len(contacts) > limits.bulk_max:
            raise _rejected(
                [f"Up to {limits.bulk_max} contacts may be included in a single request."]
            )
        reasons: list[dict[str, Any]] = []
        rows = [self._row(i, raw, reasons) for i, raw in enumerate(contacts)]
        if reasons:
            raise _rejected(reasons)
        queued = tuple(r for r in rows if r is not None)
        batch = self.account.queue_import(queued, limits.import_delay_s)
        return json_response(
            {
                "success": 1,
                "queued_contacts": len(queued),
                "batchId": batch.batch_id,
                "message": "Contact import queued",
            }
        )

    async def info(self, request: Request) -> Response:
        batch_id = request.query_params.get("batchId")
        if not batch_id:
            raise ACHTTPError(400, {"success": 0, "message": "'batchId' is a required field."})
        batch = self.account.import_batch(batch_id)
        with self.account.lock:
            if not batch.done:
                return json_response({"status": "pending", "success": [], "failure": []})
            return json_response(
                {
                    "status": "completed",
                    "success": list(batch.success),
                    "failure": list(batch.failure),
                }
            )


def import_routes(gw: Gateway) -> list[Route]:
    """The bulk-import endpoints, wrapped in the gateway pipeline."""
    h = ImportRoutes(gw)
    p = API_PREFIX
    return [
        Route(
            f"{p}/import/bulk_import",
            gw.endpoint(h.bulk_import, f"POST {p}/import/bulk_import"),
            methods=["POST"],
        ),
        Route(f"{p}/import/info", gw.endpoint(h.info, f"GET {p}/import/info"), methods=["GET"]),
    ]
