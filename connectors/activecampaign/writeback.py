"""Score write-back: bulk import for batches, ``contact/sync`` below ten, by id without e-mail.

``POST /import/bulk_import`` takes up to 250 contacts, matched **by e-mail**, and is
asynchronous: ``batchId`` now, ``GET /import/info`` later lists the contact ids that
succeeded and the e-mails that failed. Validation is all-or-nothing: one bad row answers
400 with ``failureReasons[{contact: <index>, failureReason}]`` and nothing is queued, so
the named rows are taken out (reported failed with their reason) and the rest is sent
again in the same `write` call. E-mails are read fresh (``ids[]``) for every batch.
Polls go through their own limiter bucket, which spaces them without a sleep here. AC
advises ``contact/sync`` below ten contacts; a contact with no e-mail (phone-only) is
written field by field with ``POST /fieldValues`` by id, since both other paths would
create a new contact instead. Each path tells the `EchoMemory` when the contacts' ``udate``
moved (the server's ``Date`` headers around the write, or the ``udate`` it answers with),
so their echo in a later pull costs no enrichment calls.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from leadbridge.connectors.activecampaign.client import (
    CONNECTOR,
    IMPORT_BUCKET,
    POLL_BUCKET,
    ActiveCampaignApi,
)
from leadbridge.connectors.activecampaign.echo import EchoMemory
from leadbridge.connectors.activecampaign.fields import FieldCatalog, perstag_for
from leadbridge.connectors.activecampaign.mapping import parse_time
from leadbridge.core.errors import MalformedResponse, MappingError, NotFound, ValidationRejected
from leadbridge.core.models import ScoreWrite, WriteResult
from leadbridge.core.redaction import redact

__all__ = ["MAX_BATCH", "ScoreWriter"]

log = logging.getLogger("leadbridge.connectors.activecampaign")

MAX_BATCH = 250
"""Contacts per ``/import/bulk_import`` request (AC's documented maximum)."""
_LOOKUP_PAGE = 100
_REASON = re.compile(r'"contact"\s*:\s*"?(\d+)"?\s*,\s*"failureReason"\s*:\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class _Row:
    source_id: str
    email: str
    fields: tuple[tuple[int, str], ...]


def _wire_value(value: Any) -> str:
    """AC field values are strings; ``""`` clears one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _udate_s(value: Any) -> int | None:
    """An answered ``udate`` as epoch seconds (None when absent or unreadable)."""
    if not isinstance(value, str):
        return None
    try:
        moment = parse_time(value, "udate")
    except MappingError:
        return None
    return None if moment is None else int(moment.timestamp())


def _one_line(text: Any) -> str:
    return redact(" ".join(str(text or "rejected").split()))[:300]


def _failure_reasons(body: str | None) -> tuple[dict[int, str], str | None]:
    """Row index -> reason from a refused import, plus its message; survives truncation."""
    if not body:
        return {}, None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        # The client keeps the first 2000 characters of an error body: read what is there.
        return {int(m.group(1)): _one_line(m.group(2)) for m in _REASON.finditer(body)}, None
    if not isinstance(data, dict):
        return {}, None
    reasons = data.get("failureReasons")
    reasons = reasons if isinstance(reasons, list) else []
    found = {
        int(str(r["contact"])): _one_line(r.get("failureReason"))
        for r in reasons
        if isinstance(r, Mapping) and str(r.get("contact", "")).isdigit()
    }
    texts = [str(r) for r in reasons if isinstance(r, str)]
    message = str(data.get("message") or "") or None
    if texts:
        message = f"{message or 'refused'}: {texts[0]}"
    return found, message


def _validation_title(body: str | None, fallback: str) -> str:
    try:
        data = orjson.loads(body or "")
    except orjson.JSONDecodeError:
        return _one_line(fallback)
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            first = errors[0]
            return _one_line(f"{first.get('title', '')} [{first.get('code', '')}]")
        if data.get("message"):
            return _one_line(data["message"])
    return _one_line(fallback)


class ScoreWriter:
    """Writes one batch of score values, reporting each record's outcome."""

    def __init__(
        self,
        api: ActiveCampaignApi,
        catalog: FieldCatalog,
        *,
        sync_below: int,
        poll_max: int,
        echo: EchoMemory | None = None,
    ) -> None:
        self.api = api
        self.catalog = catalog
        self.sync_below = sync_below
        self.poll_max = poll_max
        self.echo = echo
        self.min_calls = 0
        self.written = 0
        self._unchanged: set[str] = set()
        """Contacts of the current batch that look as the last pull saw them."""

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """At most `MAX_BATCH` records; duplicates of one contact are merged."""
        if len(batch) > MAX_BATCH:
            raise ValueError(
                f"an ActiveCampaign import holds at most {MAX_BATCH} contacts, got {len(batch)}"
            )
        merged: dict[str, dict[str, str]] = {}
        for item in batch:
            merged.setdefault(item.source_id, {}).update(
                {k: _wire_value(v) for k, v in item.values.items()}
            )
        if not merged:
            return WriteResult()
        before = self.api.counts().get("write", 0)
        self._unchanged = set()
        failed: dict[str, str] = {}
        field_ids = self._field_ids({name for values in merged.values() for name in values})
        rows: list[_Row] = []
        by_id: list[tuple[str, tuple[tuple[int, str], ...]]] = []
        emails = self._emails(list(merged))
        for source_id, values in merged.items():
            missing = sorted(name for name in values if name not in field_ids)
            if missing:
                failed[source_id] = (
                    f"custom field {perstag_for(missing[0])} does not exist: run ensure_fields"
                )
                continue
            email = emails.get(source_id)
            if email is None:
                failed[source_id] = f"contact {source_id} not found (deleted in ActiveCampaign?)"
                continue
            fields = tuple((field_ids[name], value) for name, value in values.items())
            if email:
                rows.append(_Row(source_id, email, fields))
            else:
                by_id.append((source_id, fields))
        succeeded: list[str] = []
        if len(rows) >= max(self.sync_below, 1):
            self._import(rows, succeeded, failed)
        else:
            for row in rows:
                self._sync(row, succeeded, failed)
        for source_id, fields in by_id:
            self._by_id(source_id, fields, succeeded, failed)
        self.written += len(succeeded)
        calls = self.api.counts().get("write", 0) - before
        return WriteResult(succeeded=tuple(succeeded), failed=failed, calls=calls)

    # -- preparation ----------------------------------------------------------------

    def _field_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Canonical name -> field id; reloads the catalog once if one is unknown."""
        wanted = set(names)

        def resolve() -> dict[str, int]:
            out = {}
            for name in wanted:
                known = self.catalog.resolve(name)
                if known is not None:
                    out[name] = known.id
            return out

        self.catalog.ensure_loaded()
        found = resolve()
        if len(found) < len(wanted):
            self.catalog.load()
            found = resolve()
        return found

    def _emails(self, source_ids: list[str]) -> dict[str, str]:
        """The current e-mail of each contact (``ids[]`` filter, 100 per call).

        Read fresh for every batch: imports and ``contact/sync`` match by e-mail, so a
        stale address would write to (or create) another contact, and a contact deleted
        since the pull would be re-created. A contact missing here is reported failed.
        """
        numeric = [s for s in source_ids if s.isdigit()]
        found: dict[str, str] = {}
        for start in range(0, len(numeric), _LOOKUP_PAGE):
            chunk = numeric[start : start + _LOOKUP_PAGE]
            self.min_calls += 1
            answer = self.api.get(
                "contacts", {"ids[]": chunk, "limit": _LOOKUP_PAGE}, category="write"
            )
            contacts = answer.get("contacts") if isinstance(answer, dict) else None
            if not isinstance(contacts, list):
                raise MalformedResponse(
                    "contacts lookup without a 'contacts' list", connector=CONNECTOR
                )
            for raw in contacts:
                if isinstance(raw, Mapping) and str(raw.get("id", "")) in chunk:
                    email = raw.get("email")
                    found[str(raw["id"])] = email.strip() if isinstance(email, str) else ""
                    if self.echo is not None and self.echo.unchanged(raw):
                        self._unchanged.add(str(raw["id"]))
        return found

    def _echo(self, contact_ids: list[str], low: int | None, high: int | None) -> None:
        """Register our write's udate window for the contacts that had not changed."""
        if self.echo is None or low is None or high is None:
            return
        mine = [c for c in contact_ids if c in self._unchanged]
        if mine:
            # +1 s: servers cache their Date header for up to a second.
            self.echo.wrote(mine, low, high + 1)

    # -- the three ways to write ----------------------------------------------------

    def _import(self, rows: list[_Row], succeeded: list[str], failed: dict[str, str]) -> None:
        pending = list(rows)
        batch_id: str | None = None
        self.min_calls += 2  # one import, one status read
        while pending:
            body = {
                "contacts": [
                    {"email": r.email, "fields": [{"id": fid, "value": v} for fid, v in r.fields]}
                    for r in pending
                ]
            }
            try:
                answer, queued_at = self.api.post_dated(
                    "import/bulk_import", body, category="write", bucket=IMPORT_BUCKET
                )
            except ValidationRejected as exc:
                reasons, message = _failure_reasons(exc.body)
                named = {i: r for i, r in reasons.items() if 0 <= i < len(pending)}
                if not named:
                    why = _one_line(message or exc.message)
                    failed.update({r.source_id: why for r in pending})
                    return
                for index, reason in named.items():
                    failed[pending[index].source_id] = reason
                pending = [r for i, r in enumerate(pending) if i not in named]
                continue
            batch_id = answer.get("batchId") if isinstance(answer, dict) else None
            if not isinstance(batch_id, str) or not batch_id:
                raise MalformedResponse(
                    "bulk import accepted without a batchId", connector=CONNECTOR
                )
            break
        if batch_id is None:
            return
        self._collect(batch_id, pending, succeeded, failed, queued_at)

    def _collect(
        self,
        batch_id: str,
        rows: list[_Row],
        succeeded: list[str],
        failed: dict[str, str],
        queued_at: int | None,
    ) -> None:
        """Poll ``/import/info`` (spaced by the poll bucket) and attribute each row."""
        info: Any = None
        seen_at: int | None = None
        # An import is never done the instant it is queued: spend one poll interval before
        # the first status read, so one read usually finds it completed.
        self.api.bulk_limiter.bucket(POLL_BUCKET).acquire()
        for _ in range(self.poll_max):
            info, seen_at = self.api.get_dated(
                "import/info", {"batchId": batch_id}, category="write", bucket=POLL_BUCKET
            )
            if isinstance(info, dict) and str(info.get("status", "")).lower() == "completed":
                break
        else:
            why = f"import {batch_id} not completed after {self.poll_max} status checks"
            failed.update({r.source_id: why for r in rows})
            return
        ok = {str(i) for i in info.get("success") or []}
        bad = {str(e).strip().lower() for e in info.get("failure") or []}
        expected = {r.source_id for r in rows}
        strays = ok - expected
        if strays:
            log.warning(
                "activecampaign: import %s touched %d contacts leadbridge did not target",
                batch_id,
                len(strays),
            )
        self._echo([r.source_id for r in rows if r.source_id in ok], queued_at, seen_at)
        for row in rows:
            if row.source_id in ok:
                succeeded.append(row.source_id)
            elif row.email.lower() in bad:
                failed[row.source_id] = "ActiveCampaign refused this contact during the import"
            else:
                failed[row.source_id] = f"import {batch_id} did not confirm this contact"

    def _sync(self, row: _Row, succeeded: list[str], failed: dict[str, str]) -> None:
        self.min_calls += 1
        values = [{"field": str(fid), "value": v} for fid, v in row.fields]
        try:
            answer = self.api.post(
                "contact/sync", {"contact": {"email": row.email, "fieldValues": values}}
            )
        except (ValidationRejected, NotFound) as exc:
            failed[row.source_id] = _validation_title(exc.body, exc.message)
            return
        contact = answer.get("contact") if isinstance(answer, dict) else None
        got = str(contact.get("id", "")) if isinstance(contact, Mapping) else ""
        if got != row.source_id:
            failed[row.source_id] = (
                f"contact/sync matched contact {got or '?'}, not {row.source_id} (e-mail changed?)"
            )
            return
        udate = _udate_s(contact.get("udate") if isinstance(contact, Mapping) else None)
        self._echo([row.source_id], udate, udate)
        succeeded.append(row.source_id)

    def _by_id(
        self,
        source_id: str,
        fields: tuple[tuple[int, str], ...],
        succeeded: list[str],
        failed: dict[str, str],
    ) -> None:
        first: int | None = None
        last: int | None = None
        for fid, value in fields:
            self.min_calls += 1
            body = {"fieldValue": {"contact": source_id, "field": str(fid), "value": value}}
            try:
                _, last = self.api.post_dated("fieldValues", body)
            except (ValidationRejected, NotFound) as exc:
                failed[source_id] = _validation_title(exc.body, exc.message)
                return
            first = last if first is None else first
        # The first answer's Date may already be past the first write: widen by a second.
        self._echo([source_id], None if first is None else first - 1, last)
        succeeded.append(source_id)
