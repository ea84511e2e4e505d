"""The OpenAPI 3.1 document of the API, built from the same endpoint table that routes.

Written by hand rather than inferred, so every operation states its security scope and
its error answers. Request and response bodies are the pydantic models the handlers
actually use (``model_json_schema`` is JSON Schema 2020-12, which OpenAPI 3.1 embeds;
nested definitions are hoisted into ``components.schemas``). The security scheme is an
HTTP bearer JWT; each operation lists the scope it needs as the requirement's role
(OpenAPI 3.1 §4.8.30: non-OAuth schemes may name roles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["Operation", "Parameter", "openapi_document"]

SCHEME = "bearerAuth"


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter."""

    name: str
    where: str
    schema: Mapping[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One documented operation."""

    path: str
    method: str
    operation_id: str
    summary: str
    scope: str | None
    response: type[BaseModel] | None = None
    response_doc: Mapping[str, Any] | None = None
    request: type[BaseModel] | None = None
    parameters: Sequence[Parameter] = ()
    media: Sequence[str] = ("application/json",)
    tags: Sequence[str] = field(default_factory=tuple)


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


def _errors(op: Operation) -> dict[str, Any]:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    answers: dict[str, Any] = {"400": {"description": "Invalid request", **ref}}
    if op.scope is not None:
        header = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "RFC 6750"}}
        answers["401"] = {"description": "Missing or invalid token", "headers": header, **ref}
        answers["403"] = {"description": f"Token lacks scope {op.scope}", "headers": header, **ref}
    if "{" in op.path:
        answers["404"] = {"description": "Not found", **ref}
    return answers


def openapi_document(
    operations: Sequence[Operation],
    *,
    title: str,
    version: str,
    issuer: str,
    audience: str,
    extra_paths: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document for `operations` (plus any extra paths mounted by other packages)."""
    components: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    for op in operations:
        success: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ref = _schema(op.response, components)
            success["content"] = {media: {"schema": ref} for media in op.media}
        elif op.response_doc is not None:
            success["content"] = {"application/json": {"schema": dict(op.response_doc)}}
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": list(op.tags),
            "responses": {"200": success, **_errors(op)},
        }
        if op.scope is not None:
            entry["security"] = [{SCHEME: [op.scope]}]
            entry["x-required-scope"] = op.scope
        else:
            entry["security"] = []
        if op.parameters:
            entry["parameters"] = [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required or p.where == "path",
                    "description": p.description,
                    "schema": dict(p.schema),
                }
                for p in op.parameters
            ]
        if op.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(op.request, components)}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    for path, item in (extra_paths or {}).items():
        paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Audit log, subject exports and privacy requests of a leadbridge installation. "
                f"Bearer JWTs from issuer {issuer} for audience {audience}; each operation "
                "names the scope it needs."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "OAuth 2.0 access token (RFC 9068 JWT) with the listed scope.",
                }
            },
        },
    }
