"""Scores back into a profile-declared CRM: payloads from a template, outcomes per record.

The engine sends canonical fields (``leadbridge_score``...); ``[write.fields]`` says where
each goes in the vendor's payload and how its value is spelled (``hot`` → ``"HOT"``).
Writes go one record per call (``PATCH /leads/{lead_id}``) or through a batch endpoint
whose answer is read record by record. A status listed in `record_error_statuses` fails
that record only; anything else (auth, exhausted retries) fails the run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from leadbridge.connectors.rest.profile import (
    BatchSpec,
    FieldsSpec,
    WriteFieldMap,
    WriteSpec,
)
from leadbridge.connectors.rest.values import JSONScalar, coerce, put
from leadbridge.core.errors import ConfigError, MalformedResponse, MappingError
from leadbridge.core.http import HttpClient, Response
from leadbridge.core.models import FieldSpec, ScoreWrite, WriteResult
from leadbridge.core.paginators import dig
from leadbridge.core.redaction import redact

__all__ = ["FieldBootstrap", "PayloadBuilder", "ScoreWriter", "vendor_field_name"]

log = logging.getLogger("leadbridge.connectors.rest")


def vendor_field_name(target: str) -> str:
    """The CRM's own name of a custom field: the last segment of its payload path."""
    return target.rsplit(".", 1)[-1]


class PayloadBuilder:
    """One `ScoreWrite` → the vendor's JSON payload and URL."""

    def __init__(self, spec: WriteSpec) -> None:
        self.spec = spec

    def url(self, source_id: str) -> str:
        """The write path with its one placeholder replaced by the (escaped) record id."""
        path = self.spec.path
        if path is None:
            raise ConfigError("this profile writes through [write.batch] only", key="write.path")
        start = path.index("{")
        end = path.index("}", start)
        return path[:start] + quote(source_id, safe="") + path[end + 1 :]

    def payload(self, write: ScoreWrite) -> dict[str, Any]:
        """The payload for one record; an unmapped value or field is a MappingError."""
        body: dict[str, Any] = {}
        if self.spec.id_target:
            put(body, self.spec.id_target, write.source_id)
        for name, value in write.values.items():
            rule = self.spec.fields.get(name)
            if rule is None:
                if name in self.spec.ignore:
                    continue
                raise MappingError(f"no [write.fields] mapping for {name!r} in the profile")
            put(body, rule.target, self._value(name, rule, value))
        return body

    @staticmethod
    def _value(name: str, rule: WriteFieldMap, value: JSONScalar) -> JSONScalar:
        if value is None or value == "":
            return None  # a cleared score (objection to profiling) empties the field
        if rule.values:
            key = str(value).lower() if isinstance(value, bool) else str(value)
            if key in rule.values:
                return rule.values[key]
            if rule.on_unmapped == "reject":
                raise MappingError(f"{name}: no value mapping for {str(value)[:60]!r}")
        try:
            return coerce(value, rule.type)
        except MappingError as exc:
            raise MappingError(f"{name}: {exc}") from None


def _reason(response: Response, message_path: str) -> str:
    parsed = response.parsed
    message = dig(parsed, message_path) if message_path else None
    if not isinstance(message, str) or not message.strip():
        message = f"HTTP {response.status}"
    else:
        message = f"HTTP {response.status}: {message}"
    return redact(" ".join(message.split()))[:300]


class ScoreWriter:
    """Writes batches of scores, one call per record or per batch chunk."""

    def __init__(self, http: HttpClient, spec: WriteSpec) -> None:
        self.http = http
        self.spec = spec
        self.builder = PayloadBuilder(spec)

    @property
    def max_batch(self) -> int:
        """How many records one `write` call may carry."""
        return self.spec.batch.max_size if self.spec.batch is not None else 1

    def min_calls(self, records: int) -> int:
        """The fewest calls that write `records` records."""
        return math.ceil(records / self.max_batch) if records else 0

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """Write `batch` (at most `max_batch` records are sent per call)."""
        latest: dict[str, ScoreWrite] = {}
        for item in batch:
            latest[item.source_id] = item  # a record twice in one batch: the last one wins
        failed: dict[str, str] = {}
        ready: list[tuple[str, dict[str, Any]]] = []
        for source_id, item in latest.items():
            try:
                ready.append((source_id, self.builder.payload(item)))
            except MappingError as exc:
                failed[source_id] = str(exc)
        if self.spec.batch is None:
            succeeded, more_failed, calls = self._one_by_one(ready)
        else:
            succeeded, more_failed, calls = self._batched(ready, self.spec.batch)
        failed.update(more_failed)
        return WriteResult(succeeded=tuple(succeeded), failed=failed, calls=calls)

    def _one_by_one(
        self, ready: Iterable[tuple[str, dict[str, Any]]]
    ) -> tuple[list[str], dict[str, str], int]:
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        calls = 0
        for source_id, payload in ready:
            response = self.http.send(
                self.spec.method,
                self.builder.url(source_id),
                json=payload,
                category="write",
                accept_statuses=self.spec.record_error_statuses,
            )
            calls += 1
            if 200 <= response.status < 300:
                succeeded.append(source_id)
            else:
                failed[source_id] = _reason(response, self.spec.error_message)
        return succeeded, failed, calls

    def _batched(
        self, ready: list[tuple[str, dict[str, Any]]], batch: BatchSpec
    ) -> tuple[list[str], dict[str, str], int]:
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        calls = 0
        for start in range(0, len(ready), batch.max_size):
            chunk = ready[start : start + batch.max_size]
            body: dict[str, Any] = {}
            put(body, batch.records_key, [payload for _, payload in chunk])
            response = self.http.send(
                batch.method,
                batch.path,
                json=body,
                category="write",
                accept_statuses=self.spec.record_error_statuses,
            )
            calls += 1
            ids = [source_id for source_id, _ in chunk]
            if not 200 <= response.status < 300:
                reason = _reason(response, self.spec.error_message)
                failed.update(dict.fromkeys(ids, reason))
                continue
            ok, bad = self._results(response, batch, ids)
            succeeded.extend(ok)
            failed.update(bad)
        return succeeded, failed, calls

    def _results(
        self, response: Response, batch: BatchSpec, ids: Sequence[str]
    ) -> tuple[list[str], dict[str, str]]:
        results = dig(response.parsed, batch.results_path)
        if not isinstance(results, list):
            raise MalformedResponse(
                f"batch answer has no result list at '{batch.results_path}'",
                connector=self.http.connector,
                status=response.status,
                method=batch.method,
                url=batch.path,
            )
        wanted = set(ids)
        ok: list[str] = []
        bad: dict[str, str] = {}
        for result in results:
            rid = dig(result, batch.result_id)
            if rid is None or str(rid) not in wanted:
                continue
            rid = str(rid)
            if dig(result, batch.success_path) in batch.success_values:
                ok.append(rid)
            else:
                message = dig(result, batch.error_path) if batch.error_path else None
                text = str(message) if message else "refused by the CRM"
                bad[rid] = redact(" ".join(text.split()))[:300]
        for rid in ids:
            if rid not in ok and rid not in bad:
                bad[rid] = "the CRM returned no result for this record"
        return ok, bad


class FieldBootstrap:
    """Makes sure the CRM holds the fields the write mapping targets; idempotent."""

    def __init__(self, http: HttpClient, write: WriteSpec | None, fields: FieldsSpec) -> None:
        self.http = http
        self.write = write
        self.fields = fields
        self.ensured: set[str] = set()
        self.min_calls = 0

    def needed(self, specs: Sequence[FieldSpec]) -> dict[str, FieldSpec]:
        """Vendor field name → the canonical spec it holds (ignored fields left out)."""
        if self.write is None:
            raise ConfigError("this profile has no [write] section: it cannot write scores")
        needed: dict[str, FieldSpec] = {}
        for spec in specs:
            rule = self.write.fields.get(spec.name)
            if rule is None:
                if spec.name in self.write.ignore:
                    continue
                raise ConfigError(
                    f"no mapping for {spec.name!r} (map it or list it in write.ignore)",
                    key="write.fields",
                )
            needed[vendor_field_name(rule.target)] = spec
        return needed

    def ensure(self, specs: Sequence[FieldSpec]) -> None:
        """Verify or create the needed fields (mode ``none``: they pre-exist by contract)."""
        needed = self.needed(specs)
        if self.fields.mode == "none" or set(needed) <= self.ensured:
            return
        existing = self._existing()
        self.min_calls += 1
        missing = [name for name in needed if name not in existing]
        if self.fields.mode == "verify" and missing:
            targets = ", ".join(repr(name) for name in missing)
            raise ConfigError(
                f"the CRM has no custom field {targets}: create it there or change the target",
                key="write.fields",
            )
        for name in missing:
            self._create(name, needed[name])
            self.min_calls += 1
        self.ensured |= set(needed)

    def _existing(self) -> set[str]:
        assert self.fields.list_path is not None
        body = self.http.call("GET", self.fields.list_path, category="setup")
        records = dig(body, self.fields.records) if self.fields.records else body
        if not isinstance(records, list):
            raise MalformedResponse(
                f"field list has no list at '{self.fields.records}'",
                connector=self.http.connector,
                method="GET",
                url=self.fields.list_path,
            )
        return {str(dig(r, self.fields.name_path)) for r in records if isinstance(r, Mapping)}

    def _create(self, name: str, spec: FieldSpec) -> None:
        assert self.fields.create_path is not None
        slots = {
            "name": name,
            "label": spec.label,
            "type": self.fields.types.get(spec.type, spec.type),
            "description": spec.description,
        }
        payload = {
            key: template.format_map(slots) for key, template in self.fields.create_payload.items()
        }
        response = self.http.send(
            self.fields.create_method,
            self.fields.create_path,
            json=payload,
            category="setup",
            accept_statuses=(409,),
        )
        if response.status == 409:
            log.info(
                "%s: field %s already exists (created concurrently)", self.http.connector, name
            )
