"""CRM search: filterGroups, sorts, offset paging and the 10,000-result cap.

Semantics follow HubSpot's search guide: groups are ORed, filters inside a group ANDed;
date values may be epoch-ms strings or ISO; `after` is an offset; paging past
`search_max_results` is a 400 even when `total` is larger. The common incremental query
(one group on the last-modified date and/or `hs_object_id`, sorted by either) is served
from the store's sorted indexes by bisection; anything else is a full scan. Without
`sorts`, results come in `hs_object_id` order; `sorts` accepts `{propertyName, direction}`
objects or the spec's strings (`"-lastmodifieddate"` for descending).
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leadbridge.emulators.common.timefmt import parse_instant
from leadbridge.emulators.hubspot.errors import HubSpotHTTPError, validation_error
from leadbridge.emulators.hubspot.store import CrmRecord, ObjectStore

__all__ = ["SearchQuery", "SearchResult", "parse_search", "run_search"]

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
MAX_GROUPS = 6
MAX_FILTERS_PER_GROUP = 6
QUERY_PROPS = (
    "firstname",
    "lastname",
    "email",
    "phone",
    "company",
    "hs_email_subject",
    "hs_note_body",
    "hs_call_title",
    "hs_meeting_title",
)
_TOKEN = re.compile(r"[\w@.+-]+", re.UNICODE)


@dataclass(frozen=True)
class Filter:
    """One filter with its operand(s) already converted to the property's type."""

    prop: str
    op: str
    value: Any = None
    values: tuple[Any, ...] = ()
    high: Any = None
    raw: str = ""


@dataclass(frozen=True)
class SearchQuery:
    """A validated search request."""

    groups: tuple[tuple[Filter, ...], ...]
    sort_prop: str | None
    descending: bool
    properties: tuple[str, ...]
    limit: int
    offset: int
    query: str | None


@dataclass(frozen=True)
class SearchResult:
    """One page: the records, the total match count and the next offset (if any)."""

    total: int
    records: list[CrmRecord]
    next_offset: int | None


def _convert(store: ObjectStore, prop: str, raw: object) -> Any:
    """The operand typed like the property, or a 400."""
    kind = store.prop_type(prop)
    text = "" if raw is None else str(raw)
    if kind in {"datetime", "date"}:
        ms = parse_instant(text)
        if ms is None:
            raise validation_error(
                f"Invalid value '{text}' for date property '{prop}': "
                "use epoch milliseconds or ISO 8601."
            )
        return ms
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise validation_error(
                f"Invalid value '{text}' for number property '{prop}'."
            ) from None
    return text.lower()


def _parse_filter(store: ObjectStore, item: object) -> Filter:
    if not isinstance(item, dict):
        raise validation_error("Each filter must be an object.")
    prop = item.get("propertyName")
    op = str(item.get("operator", "")).upper()
    if not isinstance(prop, str) or not prop:
        raise validation_error("Filter is missing propertyName.")
    if op not in OPERATORS:
        raise validation_error(f"Unknown filter operator '{op}' for property '{prop}'.")
    if op in {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}:
        return Filter(prop, op)
    if op in {"IN", "NOT_IN"}:
        values = item.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {op} on '{prop}' requires a non-empty 'values'.")
        return Filter(prop, op, values=tuple(_convert(store, prop, v) for v in values))
    if "value" not in item or item["value"] is None:
        raise validation_error(f"Operator {op} on '{prop}' requires a 'value'.")
    raw = str(item["value"])
    if op in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        return Filter(prop, op, value=raw.lower(), raw=raw)
    high = None
    if op == "BETWEEN":
        if item.get("highValue") is None:
            raise validation_error(f"Operator BETWEEN on '{prop}' requires a 'highValue'.")
        high = _convert(store, prop, item["highValue"])
    return Filter(prop, op, value=_convert(store, prop, raw), high=high, raw=raw)


def _parse_sort(sorts: object) -> tuple[str | None, bool]:
    if sorts is None or sorts == []:
        return None, False
    if not isinstance(sorts, list):
        raise validation_error("'sorts' must be an array.")
    first = sorts[0]
    if isinstance(first, str):
        return (first[1:], True) if first.startswith("-") else (first, False)
    if isinstance(first, dict) and isinstance(first.get("propertyName"), str):
        direction = str(first.get("direction", "ASCENDING")).upper()
        if direction not in {"ASCENDING", "DESCENDING"}:
            raise validation_error(f"Unknown sort direction '{direction}'.")
        return first["propertyName"], direction == "DESCENDING"
    raise validation_error("Each sort must be a property name or {propertyName, direction}.")


def _int_field(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        raise validation_error(f"'{key}' must be an integer, got '{value}'.") from None


def parse_search(store: ObjectStore, body: object, *, max_limit: int) -> SearchQuery:
    """Validate a `PublicObjectSearchRequest` body; 400 on anything HubSpot refuses."""
    if not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object.")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list):
        raise validation_error("'filterGroups' must be an array.")
    if len(raw_groups) > MAX_GROUPS:
        raise validation_error(f"Too many filterGroups: {len(raw_groups)} > {MAX_GROUPS}.")
    groups: list[tuple[Filter, ...]] = []
    for group in raw_groups:
        filters = group.get("filters", []) if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("Each filterGroup needs a 'filters' array.")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"Too many filters in a group: {len(filters)} > {MAX_FILTERS_PER_GROUP}."
            )
        groups.append(tuple(_parse_filter(store, f) for f in filters))
    limit = _int_field(body, "limit", 10)
    if limit < 0 or limit > max_limit:
        raise HubSpotHTTPError(
            400,
            f"limit must be between 0 and {max_limit}, got {limit}.",
            "VALIDATION_ERROR",
            context={"limit": [str(limit)]},
        )
    offset = _int_field(body, "after", 0)
    if offset < 0:
        raise validation_error("'after' must be a paging token returned by a previous page.")
    sort_prop, descending = _parse_sort(body.get("sorts"))
    props = body.get("properties") or []
    if not isinstance(props, list) or not all(isinstance(p, str) for p in props):
        raise validation_error("'properties' must be an array of property names.")
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > 3000):
        raise validation_error("'query' must be a string of at most 3000 characters.")
    return SearchQuery(
        tuple(g for g in groups if g),
        sort_prop,
        descending,
        tuple(props),
        limit,
        offset,
        query or None,
    )


# -- evaluation ------------------------------------------------------------------------
def _record_value(store: ObjectStore, record: CrmRecord, prop: str) -> Any:
    """The record's value typed like `_convert` does, None when unset or unparsable."""
    if prop == "hs_object_id":
        return float(record.id)
    if prop in store.modified_props:
        return record.updated_ms
    raw = record.properties.get(prop)
    if raw is None or raw == "":
        return None
    kind = store.prop_type(prop)
    if kind in {"datetime", "date"}:
        return parse_instant(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return None
    return raw.lower()


def _tokens_match(pattern: str, text: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(text, pattern) or any(
            fnmatch.fnmatchcase(t, pattern) for t in _TOKEN.findall(text)
        )
    return pattern == text or pattern in _TOKEN.findall(text)


def _matches(store: ObjectStore, record: CrmRecord, flt: Filter) -> bool:
    value = _record_value(store, record, flt.prop)
    op = flt.op
    if op == "HAS_PROPERTY":
        return value is not None
    if op == "NOT_HAS_PROPERTY":
        return value is None
    if op in {"NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"} and value is None:
        return True
    if value is None:
        return False
    if op == "CONTAINS_TOKEN":
        return _tokens_match(flt.value, str(value))
    if op == "NOT_CONTAINS_TOKEN":
        return not _tokens_match(flt.value, str(value))
    if op == "IN":
        return value in flt.values
    if op == "NOT_IN":
        return value not in flt.values
    try:
        if op == "EQ":
            return bool(value == flt.value)
        if op == "NEQ":
            return bool(value != flt.value)
        if op == "GT":
            return bool(value > flt.value)
        if op == "GTE":
            return bool(value >= flt.value)
        if op == "LT":
            return bool(value < flt.value)
        if op == "LTE":
            return bool(value <= flt.value)
        return bool(flt.value <= value <= flt.high)  # BETWEEN
    except TypeError:
        return False


def _query_match(record: CrmRecord, query: str) -> bool:
    needle = query.lower()
    return any(needle in record.properties.get(p, "").lower() for p in QUERY_PROPS)


def _bounds(
    filters: tuple[Filter, ...], indexed: Callable[[str], bool]
) -> tuple[dict[str, tuple[float, float]], tuple[Filter, ...]]:
    """Split one group into numeric [lo, hi] ranges on indexed props and residual filters."""
    ranges: dict[str, tuple[float, float]] = {}
    residual: list[Filter] = []
    for flt in filters:
        if not indexed(flt.prop) or flt.op not in {"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"}:
            residual.append(flt)
            continue
        lo, hi = ranges.get(flt.prop, (float("-inf"), float("inf")))
        v = float(flt.value)
        if flt.op == "EQ":
            lo, hi = max(lo, v), min(hi, v)
        elif flt.op == "GT":
            lo = max(lo, v + 1)
        elif flt.op == "GTE":
            lo = max(lo, v)
        elif flt.op == "LT":
            hi = min(hi, v - 1)
        elif flt.op == "LTE":
            hi = min(hi, v)
        else:
            lo, hi = max(lo, v), min(hi, float(flt.high))
        ranges[flt.prop] = (lo, hi)
    return ranges, tuple(residual)


def _indexed_ids(store: ObjectStore, q: SearchQuery) -> list[int] | None:
    """Candidate ids in result order via the sorted indexes, or None if not applicable."""
    if len(q.groups) > 1 or q.query:
        return None
    sort_prop = q.sort_prop or "hs_object_id"
    by_modified = sort_prop in store.modified_props
    if not by_modified and sort_prop != "hs_object_id":
        return None
    mod = store.modified_prop

    def indexed(prop: str) -> bool:
        return prop in store.modified_props or prop == "hs_object_id"

    ranges: dict[str, tuple[float, float]] = {}
    residual: tuple[Filter, ...] = ()
    if q.groups:
        normalized = tuple(
            Filter(mod, f.op, f.value, f.values, f.high, f.raw)
            if f.prop in store.modified_props
            else f
            for f in q.groups[0]
        )
        ranges, residual = _bounds(normalized, indexed)
    ts_lo, ts_hi = ranges.get(mod, (float("-inf"), float("inf")))
    id_lo, id_hi = ranges.get("hs_object_id", (float("-inf"), float("inf")))
    if ts_lo > ts_hi or id_lo > id_hi:
        return []
    if by_modified:
        if ts_lo == ts_hi:
            start = bisect_left(store.by_modified, (ts_lo, id_lo))
            stop = bisect_right(store.by_modified, (ts_hi, id_hi))
            ids = [i for _, i in store.by_modified[start:stop]]
        else:
            start = bisect_left(store.by_modified, (ts_lo, float("-inf")))
            stop = bisect_right(store.by_modified, (ts_hi, float("inf")))
            ids = [i for _, i in store.by_modified[start:stop]]
            if id_lo > float("-inf") or id_hi < float("inf"):
                ids = [i for i in ids if id_lo <= i <= id_hi]
    else:
        ids = store.by_id[bisect_left(store.by_id, id_lo) : bisect_right(store.by_id, id_hi)]
        if ts_lo > float("-inf") or ts_hi < float("inf"):
            recs = store.records
            ids = [i for i in ids if ts_lo <= recs[i].updated_ms <= ts_hi]
    if residual:
        recs = store.records
        ids = [i for i in ids if all(_matches(store, recs[i], f) for f in residual)]
    if q.descending:
        ids.reverse()
    return ids


def _scanned_ids(store: ObjectStore, q: SearchQuery) -> list[int]:
    recs = store.records
    matched = [
        recs[i]
        for i in store.by_id
        if (not q.groups or any(all(_matches(store, recs[i], f) for f in g) for g in q.groups))
        and (q.query is None or _query_match(recs[i], q.query))
    ]
    prop = q.sort_prop or "hs_object_id"
    present = [(v, r.id) for r in matched if (v := _record_value(store, r, prop)) is not None]
    missing = [r.id for r in matched if _record_value(store, r, prop) is None]
    present.sort(reverse=q.descending)
    return [i for _, i in present] + missing


def run_search(store: ObjectStore, q: SearchQuery, *, max_results: int) -> SearchResult:
    """Evaluate a query; 400 when the page reaches past `max_results`."""
    if q.offset + q.limit > max_results:
        raise HubSpotHTTPError(
            400,
            f"Paging past {max_results} results is not supported for one search query; "
            "narrow the filters and search again.",
            "VALIDATION_ERROR",
            context={"after": [str(q.offset)], "limit": [str(q.limit)]},
        )
    ids = _indexed_ids(store, q)
    if ids is None:
        ids = _scanned_ids(store, q)
    page = ids[q.offset : q.offset + q.limit]
    following = q.offset + q.limit if q.offset + q.limit < len(ids) else None
    return SearchResult(len(ids), [store.records[i] for i in page], following)
