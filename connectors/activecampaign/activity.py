"""ActiveCampaign activity to canonical `Activity`: the contact feed and tracking logs.

The feed (``/activities?contact=``) names what happened by ``reference_type`` and
``reference_action`` (an open, a link click, a reply, an unsubscribe, a bounce, a form);
``activity_kinds`` maps ``type:action`` (or just ``type``) to a canonical kind. Tracking
logs are site visits (``type`` ``visit``, the URL as value), classified by path into
home/blog/pricing/... page views or a buy click, and tracked events, mapped by name.
Entries of a type nobody mapped are skipped and counted, not guessed at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from leadbridge.connectors.activecampaign.config import ActiveCampaignConfig
from leadbridge.connectors.activecampaign.mapping import SOURCE, parse_time
from leadbridge.core.errors import MappingError
from leadbridge.core.models import Activity
from leadbridge.core.vocabulary import channel_of

__all__ = ["ActivityMapper"]


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MappingError(f"'{key}' has an unexpected type ({type(value).__name__})")
    return str(value)


class ActivityMapper:
    """Maps feed entries and tracking logs; remembers what it skipped, by type."""

    def __init__(self, config: ActiveCampaignConfig) -> None:
        self.config = config
        self.skipped: Counter[str] = Counter()
        self._visit_types = {t.lower() for t in config.visit_types}
        self._events = {k.lower(): v for k, v in config.event_kinds.items()}
        self._home = {p.rstrip("/") for p in config.home_paths}

    def _build(
        self,
        lead_key: str,
        kind: str,
        at: datetime,
        source_id: str,
        attributes: dict[str, str | None],
    ) -> Activity:
        channel = channel_of(kind)
        if channel is None:  # pragma: no cover - config validation guarantees canonical kinds
            raise MappingError(f"{kind!r} is not a canonical activity kind")
        return Activity(
            lead_key=lead_key,
            channel=channel,
            kind=kind,
            occurred_at=at,
            source=SOURCE,
            source_id=source_id,
            attributes={k: v for k, v in attributes.items() if v},
        )

    def feed(self, lead_key: str, raw: Any) -> Activity | None:
        """One ``/activities`` entry, or None when its type is not mapped."""
        if not isinstance(raw, Mapping):
            raise MappingError("activity entry is not an object")
        ref_type = _str(raw, "reference_type")
        action = _str(raw, "reference_action")
        kinds = self.config.activity_kinds
        kind = kinds.get(f"{ref_type}:{action}") or kinds.get(ref_type)
        if kind is None:
            self.skipped[f"activity:{ref_type}:{action}"] += 1
            return None
        at = parse_time(_str(raw, "tstamp"), "tstamp")
        if at is None:
            raise MappingError("activity without tstamp")
        return self._build(
            lead_key,
            kind,
            at,
            f"activity:{_str(raw, 'id')}",
            {"reference_type": ref_type, "reference_action": action or None},
        )

    def page_kind(self, url: str) -> str:
        """The canonical kind of a visit to `url` (path segments, first match wins)."""
        path = urlsplit(url).path.lower() if "://" in url else url.lower()
        trimmed = path.rstrip("/")
        if trimmed in self._home:
            return "page_view:home"
        normalised = "/" + path.strip("/") + "/"
        for kind, fragments in self.config.page_kinds.items():
            if any(f.lower().rstrip("/") + "/" in normalised for f in fragments):
                return kind
        return "page_view:other"

    def tracking(self, lead_key: str, raw: Any) -> Activity | None:
        """One tracking log (a site visit or a tracked event), or None when unmapped."""
        if not isinstance(raw, Mapping):
            raise MappingError("tracking log is not an object")
        log_type = _str(raw, "type")
        value = _str(raw, "value")
        if log_type.lower() in self._visit_types:
            kind: str | None = self.page_kind(value)
            attributes: dict[str, str | None] = {"url": value[:500] or None}
        else:
            kind = self._events.get(log_type.lower())
            attributes = {"event": log_type[:100], "value": value[:200] or None}
        if kind is None:
            self.skipped[f"tracking:{log_type}"] += 1
            return None
        at = parse_time(_str(raw, "tstamp"), "tstamp")
        if at is None:
            raise MappingError("tracking log without tstamp")
        return self._build(lead_key, kind, at, f"tracking:{_str(raw, 'id')}", attributes)
