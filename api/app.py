"""The HTTP API: audit log, subject exports and privacy requests behind OAuth 2.0 scopes.

`create_app` builds a Starlette app; `leadbridge serve` runs it with uvicorn. Every route
but ``/health`` and ``/openapi.json`` sits behind a `ScopeGuard` that validates the bearer
JWT and checks one scope: ``audit:read`` for the audit log, ``privacy:read`` for exports
and request status, ``privacy:write`` for erasure and objection. Other packages mount
their own routes the same way: ``extra_routes=[(Mount("/reports", app=...), "reports:read")]``.

Every read of the audit log is itself recorded in it (``audit_read``), and refused
requests are recorded as ``auth_event`` entries, naming the route template rather than
the path (a path may carry an e-mail). Blocking work (database, CRM calls) runs in the
thread pool so one slow erasure does not stall other requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadbridge import __version__
from leadbridge.api.auth import AuthFailure, JWKSProvider, Principal, TokenValidator, bearer_token
from leadbridge.api.openapi import Operation, Parameter, openapi_document
from leadbridge.api.settings import ApiSettings
from leadbridge.audit.keys import VerifierKey
from leadbridge.audit.log import AuditLog
from leadbridge.audit.records import AuditEntry
from leadbridge.audit.verifier import VerifyReport, verify
from leadbridge.core.errors import ConfigError, LeadbridgeError, StateError
from leadbridge.core.models import AuditEvent
from leadbridge.core.redaction import redact
from leadbridge.privacy.erasure import ErasureCertificate
from leadbridge.privacy.export import PersonalDataExport
from leadbridge.privacy.identity import SubjectQuery
from leadbridge.privacy.objection import ObjectionResult
from leadbridge.privacy.ropa import ProcessingRecord, render_markdown
from leadbridge.privacy.service import PrivacyService

__all__ = ["AUDIT_READ", "PRIVACY_READ", "PRIVACY_WRITE", "ScopeGuard", "create_app"]

log = logging.getLogger("leadbridge.api")

AUDIT_READ = "audit:read"
PRIVACY_READ = "privacy:read"
PRIVACY_WRITE = "privacy:write"

Handler = Callable[[Request, Principal, str], Awaitable[Response]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str | None = None
    phone: str | None = None
    lead_keys: list[str] = Field(default_factory=list)

    def query(self) -> SubjectQuery:
        return SubjectQuery(email=self.email, phone=self.phone, lead_keys=tuple(self.lead_keys))


class ErasureRequest(_Body):
    """Who to erase; `permanent` overrides the Salesforce recycle-bin choice."""

    permanent: bool | None = None


class ObjectionRequest(_Body):
    """Who objects to profiling; `withdraw` lifts an earlier objection."""

    withdraw: bool = False


class AuditPage(BaseModel):
    """One page of audit entries; pass `next_after_seq` back as `after_seq` for the next."""

    entries: list[AuditEntry]
    next_after_seq: int | None


class PrivacyRequestView(BaseModel):
    """A privacy request's status and result (a certificate holds no contact data)."""

    id: str
    kind: str
    status: str
    actor: str
    created_at: datetime
    completed_at: datetime | None
    result: dict[str, Any] | None


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]
    version: str


class _Auth:
    """Token validation plus the audit trail of refusals."""

    def __init__(self, validator: TokenValidator, audit: AuditLog) -> None:
        self.validator = validator
        self.audit = audit

    def check(self, header: str | None) -> Principal:
        return self.validator.validate(bearer_token(header))

    def denied(
        self,
        failure: AuthFailure,
        principal: Principal | None,
        template: str,
        method: str,
        request_id: str,
    ) -> None:
        self.audit.record(
            [
                AuditEvent(
                    kind="auth_event",
                    actor=principal.actor if principal else "api:anonymous",
                    at=datetime.now(UTC),
                    reason="API request refused",
                    request_id=request_id,
                    details={
                        "route": f"{method} {template}",
                        "status": failure.status,
                        "error": failure.error or "missing_token",
                        "scope": failure.scope or None,
                    },
                )
            ]
        )


def _error(status: int, error: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


class ScopeGuard:
    """ASGI wrapper: a valid bearer token with `scope`, or 401/403 (audited)."""

    def __init__(self, app: ASGIApp, scope: str, auth: _Auth, template: str) -> None:
        self.app = app
        self.scope_name = scope
        self.auth = auth
        self.template = template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = uuid4().hex
        principal: Principal | None = None
        try:
            principal = await run_in_threadpool(
                self.auth.check, request.headers.get("authorization")
            )
            TokenValidator.require(principal, self.scope_name)
        except AuthFailure as failure:
            await run_in_threadpool(
                self.auth.denied, failure, principal, self.template, request.method, request_id
            )
            response = _error(
                failure.status,
                failure.error or "unauthorized",
                failure.description,
                **{"WWW-Authenticate": failure.challenge(), "X-Request-Id": request_id},
            )
            await response(scope, receive, send)
            return
        except ConfigError as exc:
            log.error("api: token keys unavailable: %s", exc)
            await _error(503, "unavailable", "token keys unavailable")(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["request_id"] = request_id
        await self.app(scope, receive, send)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Give a handler its principal and request id; turn our errors into JSON answers."""

    async def endpoint(request: Request) -> Response:
        principal: Principal = request.state.principal
        request_id: str = request.state.request_id
        try:
            response = await handler(request, principal, request_id)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            response = _error(400, "invalid_request", f"{where}: {first['msg']}".strip(": "))
        except (ConfigError, StateError) as exc:
            log.error("api: %s", redact(str(exc)))
            response = _error(503, "unavailable", "the service is not configured or reachable")
        except LeadbridgeError as exc:
            log.error("api: %s", redact(str(exc)))
            response = _error(502, "upstream_error", redact(str(exc))[:300])
        response.headers["X-Request-Id"] = request_id
        return response

    return endpoint


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadParam(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise _BadParam(f"{name} must be between {low} and {high}")
    return value


class _BadParam(LeadbridgeError):
    """A query parameter out of range."""


def create_app(
    settings: ApiSettings,
    *,
    privacy: PrivacyService,
    audit: AuditLog,
    jwks: JWKSProvider | None = None,
    verifier: VerifierKey | None = None,
    checkpoints_dir: Path | None = None,
    extra_routes: Sequence[tuple[BaseRoute, str]] = (),
    extra_openapi: Mapping[str, Any] | None = None,
    now: Callable[[], float] = time.time,
) -> Starlette:
    """The API app. `extra_routes` are (Route or Mount, required scope) pairs."""
    provider = jwks or JWKSProvider(
        url=settings.jwks_url,
        file=settings.jwks_file,
        cache_s=settings.jwks_cache_s,
        refresh_min_s=settings.jwks_refresh_min_s,
    )
    auth = _Auth(TokenValidator(settings, provider, now=now), audit)

    async def entries(request: Request, who: Principal, rid: str) -> Response:
        after = _int(request, "after_seq", 0, 0, 2**62)
        limit = _int(request, "limit", 100, 1, settings.page_max)
        kinds = request.query_params.getlist("kind") or None
        subject = request.query_params.get("subject") or None
        decrypt = request.query_params.get("decrypt", "false").lower() == "true"
        if decrypt:
            TokenValidator.require(who, PRIVACY_READ)
        found = await run_in_threadpool(
            lambda: audit.read(
                actor=who.actor,
                subject=subject,
                kinds=kinds,
                after_seq=after,
                limit=limit,
                decrypt=decrypt,
                reason="API read of the audit log",
                request_id=rid,
            )
        )
        page = AuditPage(
            entries=found, next_after_seq=found[-1].seq if len(found) == limit else None
        )
        return JSONResponse(page.model_dump(mode="json"))

    async def verify_chain(request: Request, who: Principal, rid: str) -> Response:
        def run() -> VerifyReport:
            key = verifier or audit.verifier_key
            report = verify(audit, public_key=key, external_checkpoints_dir=checkpoints_dir)
            audit.record(
                [
                    AuditEvent(
                        kind="audit_read",
                        actor=who.actor,
                        at=datetime.now(UTC),
                        reason="API verification of the audit log",
                        request_id=rid,
                        details={"query": {"verify": True}, "returned": report.entries,
                                 "ok": report.ok},
                    )
                ]
            )  # fmt: skip
            return report

        report = await run_in_threadpool(run)
        return JSONResponse(report.model_dump(mode="json"))

    async def export(request: Request, who: Principal, rid: str) -> Response:
        subject = request.path_params["subject"]
        fmt = request.query_params.get("format", "json")
        by = request.query_params.get("by") or ("email" if "@" in subject else "lead_key")
        if fmt not in ("json", "csv") or by not in ("email", "phone", "lead_key"):
            raise _BadParam("format must be json or csv; by must be email, phone or lead_key")
        query = SubjectQuery(
            email=subject if by == "email" else None,
            phone=subject if by == "phone" else None,
            lead_keys=(subject,) if by == "lead_key" else (),
        )
        result = await run_in_threadpool(
            lambda: privacy.export(query, actor=who.actor, fmt=fmt)  # type: ignore[arg-type]
        )
        if result.records == 0:
            return _error(404, "not_found", "no data is held about this person")
        return Response(
            result.content,
            media_type=result.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{result.request_id}.{fmt}"',
                "X-Privacy-Request": result.request_id,
                "Cache-Control": "no-store",
            },
        )

    async def erasure(request: Request, who: Principal, rid: str) -> Response:
        body = ErasureRequest.model_validate_json(await request.body())
        query = body.query()
        certificate = await run_in_threadpool(
            lambda: privacy.erase(query, actor=who.actor, permanent=body.permanent)
        )
        return JSONResponse(certificate.model_dump(mode="json"))

    async def objection(request: Request, who: Principal, rid: str) -> Response:
        body = ObjectionRequest.model_validate_json(await request.body())
        query = body.query()
        result = await run_in_threadpool(
            lambda: privacy.object(query, actor=who.actor, withdraw=body.withdraw)
        )
        return JSONResponse(result.model_dump(mode="json"))

    async def request_status(request: Request, who: Principal, rid: str) -> Response:
        found = await run_in_threadpool(privacy.request, request.path_params["request_id"])
        if found is None:
            return _error(404, "not_found", "no such privacy request")
        return JSONResponse(found.to_json())

    async def ropa(request: Request, who: Principal, rid: str) -> Response:
        if request.query_params.get("format", "json") == "md":
            return Response(render_markdown(privacy.record), media_type="text/markdown")
        return JSONResponse(privacy.record.model_dump(mode="json"))

    subject_param = Parameter(
        "subject", "path", {"type": "string"},
        "A lead key (hubspot:123) or an e-mail; prefer lead keys, paths end up in logs.",
    )  # fmt: skip
    table: list[tuple[Operation, Handler]] = [
        (Operation("/audit/entries", "GET", "listAuditEntries", "Read audit entries (audited)",
                   AUDIT_READ, AuditPage, tags=("audit",), parameters=(
                       Parameter("after_seq", "query", {"type": "integer", "minimum": 0},
                                 "Return entries after this sequence number."),
                       Parameter("limit", "query",
                                 {"type": "integer", "minimum": 1, "maximum": settings.page_max},
                                 "Page size."),
                       Parameter("kind", "query", {"type": "string"}, "Only these kinds."),
                       Parameter("subject", "query", {"type": "string"}, "Only this lead key."),
                       Parameter("decrypt", "query", {"type": "boolean"},
                                 "Decrypt personal values (also needs privacy:read)."),
                   )), entries),
        (Operation("/audit/verify", "GET", "verifyAuditLog",
                   "Verify the chain and its signed checkpoints (audited)", AUDIT_READ,
                   VerifyReport, tags=("audit",)), verify_chain),
        (Operation("/subjects/{subject}/export", "GET", "exportSubject",
                   "Subject access / portability export (GDPR Art. 15, 20, 22)", PRIVACY_READ,
                   PersonalDataExport, media=("application/json", "text/csv"), tags=("privacy",),
                   parameters=(subject_param,
                       Parameter("format", "query", {"type": "string", "enum": ["json", "csv"]},
                                 "json (default) or csv (formula-safe)."),
                       Parameter("by", "query",
                                 {"type": "string", "enum": ["email", "phone", "lead_key"]},
                                 "How `subject` names the person (default: guessed)."),
                   )), export),
        (Operation("/privacy/erasure", "POST", "requestErasure",
                   "Erase a person in every CRM and locally; returns the certificate",
                   PRIVACY_WRITE, ErasureCertificate, request=ErasureRequest,
                   tags=("privacy",)), erasure),
        (Operation("/privacy/objection", "POST", "recordObjection",
                   "Record or withdraw an objection to profiling (GDPR Art. 21)",
                   PRIVACY_WRITE, ObjectionResult, request=ObjectionRequest,
                   tags=("privacy",)), objection),
        (Operation("/privacy/requests/{request_id}", "GET", "getPrivacyRequest",
                   "Status and result of a privacy request", PRIVACY_READ, PrivacyRequestView,
                   tags=("privacy",), parameters=(
                       Parameter("request_id", "path", {"type": "string"}, "The request id."),
                   )), request_status),
        (Operation("/privacy/ropa", "GET", "getProcessingRecord",
                   "Record of processing activities (GDPR Art. 30, nFADP Art. 12)",
                   PRIVACY_READ, ProcessingRecord, tags=("privacy",), parameters=(
                       Parameter("format", "query", {"type": "string", "enum": ["json", "md"]},
                                 "json (default) or md."),
                   )), ropa),
    ]  # fmt: skip
    extra_ops = [
        Operation("/health", "GET", "health", "Liveness", None, Health, tags=("meta",)),
        Operation("/openapi.json", "GET", "openapi", "This document", None,
                  response_doc={"type": "object"}, tags=("meta",)),
    ]  # fmt: skip
    document = openapi_document(
        [op for op, _ in table] + extra_ops,
        title="leadbridge API",
        version=__version__,
        issuer=settings.issuer,
        audience=settings.audience,
        extra_paths=extra_openapi,
    )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    for op, handler in table:
        inner = Route(op.path, _endpoint(_params_guard(handler)), methods=[op.method])
        routes.append(
            Route(
                op.path,
                ScopeGuard(inner.app, op.scope or "", auth, op.path),
                methods=[op.method],
                name=op.operation_id,
            )
        )
    for route, scope in extra_routes:
        routes.append(_guarded(route, scope, auth))
    return Starlette(routes=routes)


def _params_guard(handler: Handler) -> Handler:
    """Bad query parameters and refused extra scopes answer 400/403, not 500."""

    async def wrapped(request: Request, who: Principal, rid: str) -> Response:
        try:
            return await handler(request, who, rid)
        except _BadParam as exc:
            return _error(400, "invalid_request", str(exc))
        except AuthFailure as failure:
            return _error(
                failure.status,
                failure.error or "forbidden",
                failure.description,
                **{"WWW-Authenticate": failure.challenge()},
            )

    return wrapped


def _guarded(route: BaseRoute, scope: str, auth: _Auth) -> BaseRoute:
    """Another package's Route or Mount behind a scope."""
    if isinstance(route, Mount):
        return Mount(route.path, app=ScopeGuard(route.app, scope, auth, route.path + "/*"),
                     name=route.name)  # fmt: skip
    if isinstance(route, Route):
        methods = sorted(route.methods or {"GET"})
        return Route(route.path, ScopeGuard(route.app, scope, auth, route.path),
                     methods=methods, name=route.name)  # fmt: skip
    raise TypeError(f"extra routes must be Route or Mount, not {type(route).__name__}")
