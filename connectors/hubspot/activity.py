"""HubSpot behaviour to canonical activity kinds (`core/vocabulary.py`).

Two sources: the Events API (``e_visited_page``, ``e_submitted_form``, marketing-email
opens and clicks, and portal custom events ``pe<portal>_<name>``) and the engagement
objects (emails, calls, meetings, notes) linked to contacts by associations. The tables
below are data, so a portal with its own custom events or call outcomes is a config
change, not a code change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from leadbridge.connectors.hubspot.config import HubSpotConfig
from leadbridge.connectors.hubspot.mapping import SOURCE, lead_key, to_datetime
from leadbridge.core.errors import MappingError
from leadbridge.core.models import Activity
from leadbridge.core.vocabulary import channel_of

__all__ = [
    "ENGAGEMENT_CURSOR",
    "ENGAGEMENT_PROPERTIES",
    "EVENT_KINDS",
    "ActivityMapper",
    "page_kind",
]

ENGAGEMENT_CURSOR = "hs_lastmodifieddate"

EVENT_KINDS: dict[str, str] = {
    "e_submitted_form": "form_submit",
    "e_opened_marketing_email": "email_open",
    "e_clicked_marketing_email": "email_click",
    "marketing_email_unsubscribed": "email_unsubscribe",
    "marketing_email_spam_reported": "email_spam_report",
    "marketing_email_bounced": "email_bounce",
    "webinar_registered": "webinar_registered",
    "webinar_attended": "webinar_attended",
    "webinar_question_asked": "webinar_question",
    "social_followed": "social_follow",
    "social_commented": "social_comment",
    "social_messaged": "social_message",
}
"""Event type (custom ones without their ``pe<portal>_`` prefix) -> canonical kind."""

PAGE_VIEW_EVENT = "e_visited_page"
_CUSTOM_PREFIX = re.compile(r"^(?:pe|ae)\d+_")

_PAGE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("page_view:pricing", re.compile(r"/(pricing|prices?|tarifs?|preise|prezzi|plans)(/|$|\.)")),
    ("page_view:demo", re.compile(r"/(demo|trial|essai|testen|prova)(/|$|\.|-)")),
    (
        "page_view:case_study",
        re.compile(r"/(case[-_]?stud(y|ies)|customers?|references?|temoignages|kunden)(/|$|\.)"),
    ),
    ("page_view:rates", re.compile(r"/(rates?|taux|zins(en)?|tassi)(/|$|\.|-)")),
    ("page_view:blog", re.compile(r"/(blog|news|articles?|insights)(/|$|\.)")),
    ("page_view:home", re.compile(r"^/((fr|de|it|en)(-[a-z]{2})?/?)?(index\.html?|home/?)?$")),
)

ENGAGEMENT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "emails": ("hs_timestamp", "hs_email_direction", "hs_email_status", ENGAGEMENT_CURSOR),
    "calls": (
        "hs_timestamp",
        "hs_call_disposition",
        "hs_call_status",
        "hs_call_duration",
        ENGAGEMENT_CURSOR,
    ),
    "meetings": (
        "hs_timestamp",
        "hs_meeting_outcome",
        "hs_meeting_start_time",
        ENGAGEMENT_CURSOR,
    ),
    "notes": ("hs_timestamp", ENGAGEMENT_CURSOR),
}
"""Only what decides the kind and the time: no bodies, subjects or recordings."""


def page_kind(url: str | None, buy_patterns: tuple[str, ...]) -> str:
    """The page-view kind of a URL; buy/booking pages count as a buy click."""
    path = urlsplit(url or "").path.lower() or "/"
    if any(pattern in path for pattern in buy_patterns):
        return "cta_click:buy"
    for kind, pattern in _PAGE_KINDS:
        if pattern.search(path):
            return kind
    return "page_view:other"


class ActivityMapper:
    """Events and engagements -> `Activity`, with the connection's tables."""

    def __init__(self, config: HubSpotConfig) -> None:
        self.config = config
        self.dispositions: dict[str, str] = dict(config.call_dispositions)

    def learn_dispositions(self, outcomes: Mapping[str, str]) -> None:
        """Add the portal's call outcomes (GUID -> label) whose label the config knows."""
        labels = self.config.call_disposition_labels
        for guid, label in outcomes.items():
            verdict = labels.get(label.strip().lower())
            if verdict is not None:
                self.dispositions.setdefault(guid, verdict)

    def event(self, event: Any) -> Activity | None:
        """One ``ExternalUnifiedEvent``; None for event types leadbridge does not score."""
        event_type = str(getattr(event, "event_type", "") or "")
        object_id = str(getattr(event, "object_id", "") or "").strip()
        if not object_id.isdigit():
            raise MappingError(f"objectId: {object_id!r} is not a contact id")
        props = getattr(event, "properties", None) or {}
        if not isinstance(props, dict):
            raise MappingError("properties: not an object")
        attributes: dict[str, str | None] = {"event_type": event_type}
        if event_type == PAGE_VIEW_EVENT:
            url = props.get("hs_url")
            if url is not None and not isinstance(url, str):
                raise MappingError("hs_url: not a string")
            kind = page_kind(url, self.config.buy_url_patterns)
            attributes["path"] = urlsplit(url or "").path or "/"
        else:
            kind_or_none = EVENT_KINDS.get(_CUSTOM_PREFIX.sub("", event_type))
            if kind_or_none is None:
                return None
            kind = kind_or_none
        occurred = getattr(event, "occurred_at", None)
        when = to_datetime(occurred, "occurredAt")
        if when is None:
            raise MappingError("occurredAt: missing")
        return self._activity(
            object_id, kind, when, f"event:{getattr(event, 'id', '')}", attributes=attributes
        )

    def engagement(self, object_type: str, record: Any, contact_ids: list[str]) -> list[Activity]:
        """One engagement, once per associated contact; [] when it carries no signal."""
        props = getattr(record, "properties", None)
        if not isinstance(props, dict):
            raise MappingError("properties: missing or not an object")
        engagement_id = str(getattr(record, "id", "") or "")
        kind = self._engagement_kind(object_type, props)
        if kind is None or not contact_ids:
            return []
        when = to_datetime(props.get("hs_timestamp"), "hs_timestamp") or to_datetime(
            props.get("hs_createdate") or props.get(ENGAGEMENT_CURSOR), "hs_createdate"
        )
        if when is None:
            raise MappingError("hs_timestamp: missing")
        value = None
        if object_type == "calls" and props.get("hs_call_duration"):
            try:
                value = float(props["hs_call_duration"]) / 1000.0
            except (TypeError, ValueError):
                raise MappingError("hs_call_duration: not a number") from None
        return [
            self._activity(
                contact_id,
                kind,
                when,
                f"{object_type}:{engagement_id}",
                value=value,
                attributes={"engagement": object_type},
            )
            for contact_id in contact_ids
        ]

    def _engagement_kind(self, object_type: str, props: Mapping[str, Any]) -> str | None:
        if object_type == "emails":
            direction = str(props.get("hs_email_direction") or "").upper()
            if direction == "INCOMING_EMAIL":
                return "email_reply"
            return "email_sent" if direction in {"EMAIL", "FORWARDED_EMAIL"} else None
        if object_type == "calls":
            disposition = str(props.get("hs_call_disposition") or "")
            verdict = self.dispositions.get(disposition)
            if verdict is not None:
                return f"call_{verdict}"
            status = str(props.get("hs_call_status") or "").upper()
            if not disposition and status == "COMPLETED":
                return "call_completed"
            return None
        if object_type == "meetings":
            outcome = str(props.get("hs_meeting_outcome") or "").upper()
            if outcome == "COMPLETED":
                return "meeting_held"
            if outcome in {"", "SCHEDULED", "RESCHEDULED"}:
                return "meeting_request"
            return None
        if object_type == "notes":
            return "note"
        raise MappingError(f"unknown engagement type {object_type!r}")

    @staticmethod
    def _activity(
        contact_id: str,
        kind: str,
        when: Any,
        source_id: str,
        *,
        value: float | None = None,
        attributes: Mapping[str, str | None] | None = None,
    ) -> Activity:
        channel = channel_of(kind)
        if channel is None:  # pragma: no cover - the tables above only hold known kinds
            raise MappingError(f"{kind!r} is not a canonical activity kind")
        return Activity(
            lead_key=lead_key(contact_id),
            channel=channel,
            kind=kind,
            occurred_at=when,
            source=SOURCE,
            source_id=source_id,
            value=value,
            attributes=dict(attributes or {}),
        )
