"""Scores back into HubSpot: idempotent property bootstrap and batched contact updates.

HubSpot refuses writes to properties that do not exist, so the ``leadbridge`` group and
its properties are created first (listed once, missing ones created, a 409 means a
concurrent run won the race). Scores then go out as ``batch/update`` calls of at most
100 contacts, whose 207 Multi-Status answer is resolved record by record from each
error's ``context.ids`` (https://developers.hubspot.com/docs/api-reference/error-handling).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hubspot.crm import contacts as sdk_contacts
from hubspot.crm import properties as sdk_properties

from leadbridge.connectors.hubspot.client import HubSpotApi
from leadbridge.core.errors import PermanentAPIError, ValidationRejected
from leadbridge.core.jsonsafe import loads
from leadbridge.core.models import FieldSpec, ScoreWrite, WriteResult
from leadbridge.core.redaction import redact

__all__ = [
    "GROUP_LABEL",
    "GROUP_NAME",
    "MAX_BATCH",
    "SCORE_FIELDS",
    "BatchWriter",
    "FieldBootstrap",
]

log = logging.getLogger("leadbridge.connectors.hubspot")

OBJECT_TYPE = "contacts"
GROUP_NAME = "leadbridge"
GROUP_LABEL = "leadbridge"
MAX_BATCH = 100
"""``batch/update`` accepts at most 100 inputs (docs …/crm/objects/contacts#limits)."""

SCORE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(name="leadbridge_score", label="leadbridge score", type="number",
              description="Lead score 0-100 computed by leadbridge."),
    FieldSpec(name="leadbridge_tier", label="leadbridge tier", type="string",
              description="Score tier (hot, warm, cold...)."),
    FieldSpec(name="leadbridge_action", label="leadbridge action", type="string",
              description="Recommended next action."),
    FieldSpec(name="leadbridge_reasons", label="leadbridge reasons", type="text",
              description="Top reasons behind the score."),
    FieldSpec(name="leadbridge_scored_at", label="leadbridge scored at", type="datetime",
              description="When the score was computed."),
)  # fmt: skip
"""The properties the scorer writes."""

_FIELD_TYPES: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "string": ("string", "text"),
    "text": ("string", "textarea"),
    "datetime": ("datetime", "date"),
    "enumeration": ("enumeration", "select"),
}


class FieldBootstrap:
    """Creates the leadbridge group and properties that are missing; safe to repeat."""

    def __init__(self, api: HubSpotApi) -> None:
        self.api = api
        self.created: list[str] = []
        self.min_calls = 0
        self._groups = api.api("setup", "groups", lambda c: c.crm.properties.groups_api)
        self._core = api.api("setup", "properties", lambda c: c.crm.properties.core_api)

    def ensure(self, fields: Sequence[FieldSpec]) -> None:
        """List once, create what is missing; a 409 means someone else just created it."""
        groups = self.api.call(
            "list property groups", lambda: self._groups.get_all(object_type=OBJECT_TYPE)
        )
        self.min_calls += 1
        if GROUP_NAME not in {g.name for g in (groups.results or [])}:
            group = sdk_properties.PropertyGroupCreate(
                name=GROUP_NAME, label=GROUP_LABEL, display_order=-1
            )
            self._create("property group", lambda: self._groups.create(OBJECT_TYPE, group))
        existing = self.api.call(
            "list properties", lambda: self._core.get_all(object_type=OBJECT_TYPE)
        )
        self.min_calls += 1
        known = {p.name: p for p in (existing.results or [])}
        for spec in fields:
            current = known.get(spec.name)
            if current is not None:
                self._check_type(spec, current)
                continue
            body = _property_create(spec)
            if self._create(
                f"property {spec.name}", lambda b=body: self._core.create(OBJECT_TYPE, b)
            ):
                self.created.append(spec.name)

    def _create(self, what: str, send: Any) -> bool:
        try:
            self.api.call(f"create {what}", send)
        except ValidationRejected as exc:
            if exc.status == 409:
                log.info("hubspot: %s already exists", what)
                return False
            raise
        self.min_calls += 1
        return True

    @staticmethod
    def _check_type(spec: FieldSpec, current: Any) -> None:
        expected = _FIELD_TYPES[spec.type][0]
        if getattr(current, "type", expected) != expected:
            log.warning(
                "hubspot: property %s exists with type %s, leadbridge writes %s",
                spec.name,
                getattr(current, "type", "?"),
                expected,
            )


def _property_create(spec: FieldSpec) -> Any:
    type_, field_type = _FIELD_TYPES[spec.type]
    options = [
        sdk_properties.OptionInput(label=o, value=o, display_order=i, hidden=False)
        for i, o in enumerate(spec.options)
    ]
    return sdk_properties.PropertyCreate(
        name=spec.name,
        label=spec.label,
        description=spec.description,
        group_name=GROUP_NAME,
        type=type_,
        field_type=field_type,
        options=options or None,
        form_field=False,
    )


def _wire_value(value: Any) -> str:
    """HubSpot properties are strings; ``""`` clears a value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BatchWriter:
    """One ``batch/update`` per call; per-record outcomes from a 200, 207 or 4xx."""

    def __init__(self, api: HubSpotApi) -> None:
        self.api = api
        self.written = 0
        self._batch = api.api("write", "contacts_batch", lambda c: c.crm.contacts.batch_api)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """Send at most `MAX_BATCH` writes in one call; duplicates of an id are merged."""
        if len(batch) > MAX_BATCH:
            raise ValueError(f"a HubSpot batch holds at most {MAX_BATCH} records, got {len(batch)}")
        merged: dict[str, dict[str, str]] = {}
        for item in batch:
            values = merged.setdefault(item.source_id, {})
            values.update({k: _wire_value(v) for k, v in item.values.items()})
        if not merged:
            return WriteResult()
        body = sdk_contacts.BatchInputSimplePublicObjectBatchInput(
            inputs=[
                sdk_contacts.SimplePublicObjectBatchInput(id=source_id, properties=values)
                for source_id, values in merged.items()
            ]
        )
        ids = list(merged)
        try:
            response = self.api.call("batch update", lambda: self._batch.update(body))
        except ValidationRejected as exc:
            # The whole batch was refused (400/422): attribute what the body names.
            failed = _attribute(ids, _errors_from_body(exc.body), exc.message)
            return WriteResult(succeeded=(), failed=failed, calls=1)
        succeeded = {str(r.id) for r in (getattr(response, "results", None) or [])}
        errors = [_error_dict(e) for e in (getattr(response, "errors", None) or [])]
        failed = _attribute([i for i in ids if i not in succeeded], errors, None)
        ok = tuple(i for i in ids if i in succeeded and i not in failed)
        self.written += len(ok)
        return WriteResult(succeeded=ok, failed=failed, calls=1)


def _error_dict(error: Any) -> dict[str, Any]:
    return {
        "message": getattr(error, "message", None),
        "category": getattr(error, "category", None),
        "context": getattr(error, "context", None) or {},
    }


def _errors_from_body(body: str | None) -> list[dict[str, Any]]:
    """The per-input errors of a whole-batch 4xx, when its body lists them."""
    if not body:
        return []
    try:
        data = loads(body.encode())
    except PermanentAPIError:
        return []
    if not isinstance(data, dict):
        return []
    errors = data.get("errors")
    found = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if isinstance(data.get("context"), dict):
        found.append(data)
    return found


def _attribute(
    ids: Iterable[str], errors: Sequence[Mapping[str, Any]], batch_message: str | None
) -> dict[str, str]:
    """Map errors to records by ``context.ids``; the rest fail with the batch's message."""
    pending = list(ids)
    failed: dict[str, str] = {}
    for error in errors:
        message = _one_line(error.get("message"), error.get("category"))
        context = error.get("context") or {}
        named = (
            (context.get("ids") or context.get("id") or []) if isinstance(context, Mapping) else []
        )
        for source_id in named if isinstance(named, list) else [named]:
            if str(source_id) in pending and str(source_id) not in failed:
                failed[str(source_id)] = message
    # A record no error names is not guessed at: it fails with the batch-level message.
    fallback = batch_message or (
        _one_line(errors[0].get("message"), errors[0].get("category"))
        if errors
        else "HubSpot did not confirm this record in its batch response"
    )
    for source_id in pending:
        failed.setdefault(source_id, redact(fallback)[:300])
    return failed


def _one_line(message: Any, category: Any) -> str:
    text = " ".join(str(message or "rejected").split())
    if isinstance(category, str) and category:
        text = f"{text} [{category}]"
    return redact(text)[:300]
