"""Custom fields: the account's catalog, and leadbridge's own fields created idempotently.

AC names a custom field by numeric id on the wire (``fields: [{id, value}]``) and by
personalisation tag (``%LEADBRIDGE_SCORE%``) for people, so the catalog maps both ways.
A field is only usable on contacts once related to a list: ``POST /fieldRels`` with
``relid`` 0 (all lists) follows every creation. AC has no number field, so scores are
text. A duplicate title answers 422 ``duplicate``: someone else created it, which is fine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadbridge.connectors.activecampaign.client import CONNECTOR, ActiveCampaignApi
from leadbridge.core.errors import MalformedResponse, ValidationRejected
from leadbridge.core.models import FieldSpec
from leadbridge.core.paginators import OffsetPaginator, paginate

__all__ = ["AC_TYPES", "FieldBootstrap", "FieldCatalog", "KnownField", "perstag_for"]

log = logging.getLogger("leadbridge.connectors.activecampaign")

AC_TYPES: dict[str, str] = {
    "number": "text",
    "string": "text",
    "text": "textarea",
    "datetime": "datetime",
    "enumeration": "dropdown",
}
"""leadbridge field type -> AC field type."""

_PAGE = 100


def perstag_for(name: str) -> str:
    """The personalisation tag leadbridge gives a canonical field (``LEADBRIDGE_SCORE``)."""
    return name.upper()


@dataclass(frozen=True)
class KnownField:
    """One custom field as the account lists it."""

    id: int
    title: str
    perstag: str
    type: str


class FieldCatalog:
    """Fields and their list relations, loaded with ``GET /fields`` (counted as setup)."""

    def __init__(self, api: ActiveCampaignApi) -> None:
        self.api = api
        self.by_id: dict[int, KnownField] = {}
        self.related: set[int] = set()
        self.assigned: dict[str, int] = {}
        """Canonical name -> field id, as `FieldBootstrap` settled it (perstag or title)."""
        self.loaded = False
        self.pages = 0
        self._lock = threading.Lock()

    def load(self) -> None:
        """(Re)read every field; one call per 100 fields."""
        with self._lock:
            by_id: dict[int, KnownField] = {}
            related: set[int] = set()

            def fetch(offset: int | None) -> Any:
                return self.api.get(
                    "fields", {"limit": _PAGE, "offset": offset or 0}, category="setup"
                )

            for response in paginate(fetch, OffsetPaginator(_PAGE, "fields", "meta.total")):
                self.pages += 1
                fields = response.get("fields") if isinstance(response, dict) else None
                if not isinstance(fields, list):
                    raise MalformedResponse(
                        "fields page without a 'fields' list", connector=CONNECTOR
                    )
                for raw in fields:
                    known = _known(raw)
                    by_id[known.id] = known
                for rel in response.get("fieldRels") or []:
                    if isinstance(rel, Mapping) and str(rel.get("relid")) == "0":
                        related.add(int(str(rel.get("field", "0"))))
            self.by_id, self.related, self.loaded = by_id, related, True

    def ensure_loaded(self) -> None:
        if not self.loaded:
            self.load()

    def perstag_of(self) -> dict[str, str]:
        """Field id (as AC writes it in field values) -> perstag."""
        return {str(f.id): f.perstag for f in self.by_id.values()}

    def find(self, perstag: str, title: str | None = None) -> KnownField | None:
        """By perstag, else by title (case-insensitive), as a person may have made it."""
        for known in self.by_id.values():
            if known.perstag == perstag:
                return known
        if title is not None:
            for known in self.by_id.values():
                if known.title.strip().lower() == title.strip().lower():
                    return known
        return None

    def resolve(self, name: str) -> KnownField | None:
        """The field holding canonical `name`: as bootstrapped, by perstag, or by title.

        A field a person made first is adopted by its title; without a bootstrap in this
        process, that title is assumed to be the name with spaces (``leadbridge score``).
        """
        assigned = self.assigned.get(name)
        if assigned is not None and assigned in self.by_id:
            return self.by_id[assigned]
        return self.find(perstag_for(name), name.replace("_", " "))

    def add(self, known: KnownField, *, related: bool = False) -> None:
        with self._lock:
            self.by_id[known.id] = known
            if related:
                self.related.add(known.id)


def _known(raw: Any) -> KnownField:
    if not isinstance(raw, Mapping):
        raise MalformedResponse("field entry is not an object", connector=CONNECTOR)
    fid, perstag = str(raw.get("id", "")), raw.get("perstag")
    if not fid.isdigit() or not isinstance(perstag, str):
        raise MalformedResponse(
            "field entry without a numeric id and a perstag", connector=CONNECTOR
        )
    return KnownField(int(fid), str(raw.get("title") or ""), perstag, str(raw.get("type") or ""))


class FieldBootstrap:
    """Creates missing fields, their options and their all-lists relation; safe to repeat."""

    def __init__(self, api: ActiveCampaignApi, catalog: FieldCatalog) -> None:
        self.api = api
        self.catalog = catalog
        self.created: list[str] = []
        self.min_calls = 0

    def ensure(self, fields: Sequence[FieldSpec]) -> dict[str, int]:
        """Canonical name -> field id, creating what is missing."""
        pages_before = self.catalog.pages
        self.catalog.load()
        self.min_calls += self.catalog.pages - pages_before
        ids: dict[str, int] = {}
        for spec in fields:
            tag = perstag_for(spec.name)
            known = self.catalog.find(tag, spec.label)
            if known is None:
                known = self._create(spec, tag)
            elif known.type and known.type != AC_TYPES[spec.type]:
                log.warning(
                    "activecampaign: field %s exists with type %s, leadbridge writes %s",
                    tag,
                    known.type,
                    AC_TYPES[spec.type],
                )
            if known.id not in self.catalog.related:
                self._relate(known)
            ids[spec.name] = known.id
        self.catalog.assigned.update(ids)
        return ids

    def _create(self, spec: FieldSpec, tag: str) -> KnownField:
        body = {
            "field": {
                "title": spec.label,
                "type": AC_TYPES[spec.type],
                "descript": spec.description,
                "perstag": tag,
                "visible": 1,
            }
        }
        try:
            answer = self.api.post("fields", body, category="setup")
        except ValidationRejected as exc:
            if exc.status != 422 or "duplicate" not in (exc.body or ""):
                raise
            log.info("activecampaign: field %s was created concurrently", tag)
            self.catalog.load()
            found = self.catalog.find(tag, spec.label)
            if found is None:
                raise
            return found
        self.min_calls += 1
        known = _known(answer.get("field") if isinstance(answer, dict) else None)
        self.catalog.add(known)
        self.created.append(spec.name)
        if spec.options and AC_TYPES[spec.type] == "dropdown":
            options = [
                {"field": str(known.id), "label": o, "value": o, "orderid": i + 1}
                for i, o in enumerate(spec.options)
            ]
            self.api.post("fieldOption/bulk", {"fieldOptions": options}, category="setup")
            self.min_calls += 1
        return known

    def _relate(self, known: KnownField) -> None:
        try:
            self.api.post(
                "fieldRels", {"fieldRel": {"field": known.id, "relid": 0}}, category="setup"
            )
        except ValidationRejected as exc:
            if exc.status != 422 or "duplicate" not in (exc.body or ""):
                raise
        else:
            self.min_calls += 1
        self.catalog.add(known, related=True)
