"""``/services/data/vXX.X/jobs/ingest``: the Bulk API 2.0 ingest endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.salesforce.bulk import BulkJobs
from leadbridge.emulators.salesforce.errors import json_response
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.routes_data import V, json_body

__all__ = ["bulk_routes"]


class BulkRoutes:
    """Handlers for ingest jobs."""

    def __init__(self, gateway: Gateway, jobs: BulkJobs) -> None:
        self.gw = gateway
        self.jobs = jobs

    def _info(self, request: Request, job_id: str) -> Response:
        version = str(request.path_params["version"])[1:]
        job = self.jobs.get(job_id)
        return json_response(job.info(version, self.gw.org.api_user_id))

    async def create(self, request: Request) -> Response:
        job = self.jobs.create(await json_body(request))
        return self._info(request, job.id)

    async def list_jobs(self, request: Request) -> Response:
        version = str(request.path_params["version"])[1:]
        records = [
            self.jobs.get(j).info(version, self.gw.org.api_user_id) for j in list(self.jobs.jobs)
        ]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    async def get(self, request: Request) -> Response:
        return self._info(request, str(request.path_params["job"]))

    async def upload(self, request: Request) -> Response:
        self.jobs.upload(str(request.path_params["job"]), await request.body())
        return Response(status_code=201)

    async def patch(self, request: Request) -> Response:
        job = self.jobs.set_state(str(request.path_params["job"]), await json_body(request))
        return self._info(request, job.id)

    async def delete(self, request: Request) -> Response:
        self.jobs.delete(str(request.path_params["job"]))
        return Response(status_code=204)

    async def results(self, request: Request) -> Response:
        # The platform matches these path segments case-insensitively (simple-salesforce
        # asks for "unprocessedRecords", the documentation says "unprocessedrecords").
        kinds = {k.lower(): k for k in ("successfulResults", "failedResults", "unprocessedrecords")}
        kind = kinds.get(str(request.path_params["kind"]).lower(), "")
        if not kind:
            return json_response(
                [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
                404,
            )
        text = self.jobs.results_csv(str(request.path_params["job"]), kind)
        return Response(text.encode(), 200, media_type="text/csv")


def bulk_routes(gw: Gateway, jobs: BulkJobs) -> list[Route]:
    """The ingest routes, all through the gateway."""
    h = BulkRoutes(gw, jobs)
    e = gw.endpoint
    base = f"{V}/jobs/ingest"
    job = base + "/{job}"
    return [
        Route(base, e(h.create, "/jobs/ingest"), methods=["POST"]),
        Route(base + "/", e(h.create, "/jobs/ingest"), methods=["POST"]),
        Route(base, e(h.list_jobs, "/jobs/ingest"), methods=["GET"]),
        Route(job, e(h.get, "/jobs/ingest/{job}"), methods=["GET"]),
        Route(job, e(h.patch, "/jobs/ingest/{job}"), methods=["PATCH"]),
        Route(job, e(h.delete, "/jobs/ingest/{job}"), methods=["DELETE"]),
        Route(job + "/batches", e(h.upload, "/jobs/ingest/{job}/batches"), methods=["PUT"]),
        Route(job + "/batches/", e(h.upload, "/jobs/ingest/{job}/batches"), methods=["PUT"]),
        Route(job + "/{kind}", e(h.results, "/jobs/ingest/{job}/{kind}"), methods=["GET"]),
        Route(job + "/{kind}/", e(h.results, "/jobs/ingest/{job}/{kind}"), methods=["GET"]),
    ]
