"""Names HubSpot uses for object types, association types, events and call outcomes.

Event types: HubSpot's standard `e_*` names where the brief and HubSpot's event-type list
agree (`e_visited_page`, `e_submitted_form`, `e_opened_marketing_email`,
`e_clicked_marketing_email`); the others are portal custom events, `pe<portalId>_<name>`
(see `custom_event_type`): marketing-email unsubscribe, spam report and bounce, webinar
registration/attendance/question and social follow/comment/message.
"""

from __future__ import annotations

__all__ = [
    "ASSOCIATION_TYPE_IDS",
    "CALL_DISPOSITIONS",
    "CUSTOM_EVENT_NAMES",
    "ENGAGEMENT_DEFAULT_PROPS",
    "ENGAGEMENT_PROP_TYPES",
    "ENGAGEMENT_TYPES",
    "STANDARD_EVENT_TYPES",
    "custom_event_type",
    "normalize_object_type",
]

ENGAGEMENT_TYPES: tuple[str, ...] = ("emails", "calls", "meetings", "notes")

_ALIASES: dict[str, str] = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "emails": "emails",
    "email": "emails",
    "0-49": "emails",
    "calls": "calls",
    "call": "calls",
    "0-48": "calls",
    "meetings": "meetings",
    "meeting": "meetings",
    "meeting_event": "meetings",
    "0-47": "meetings",
    "notes": "notes",
    "note": "notes",
    "0-46": "notes",
}


def normalize_object_type(name: str) -> str | None:
    """`contacts` for `contact`/`0-1`/`CONTACTS`..., None for types the emulator lacks."""
    return _ALIASES.get(name.strip().lower())


# HUBSPOT_DEFINED association type ids (v4), keyed (from, to).
ASSOCIATION_TYPE_IDS: dict[tuple[str, str], int] = {
    ("contacts", "emails"): 197,
    ("emails", "contacts"): 198,
    ("contacts", "calls"): 193,
    ("calls", "contacts"): 194,
    ("contacts", "meetings"): 199,
    ("meetings", "contacts"): 200,
    ("contacts", "notes"): 201,
    ("notes", "contacts"): 202,
}

ENGAGEMENT_DEFAULT_PROPS: tuple[str, ...] = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")

ENGAGEMENT_PROP_TYPES: dict[str, str] = {
    "hs_timestamp": "datetime",
    "hs_createdate": "datetime",
    "hs_lastmodifieddate": "datetime",
    "hs_meeting_start_time": "datetime",
    "hs_meeting_end_time": "datetime",
    "hs_call_duration": "number",
    "hubspot_owner_id": "enumeration",
}

# Default call outcomes (GUIDs as HubSpot ships them) plus one custom "Not interested".
CALL_DISPOSITIONS: dict[str, str] = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
    "5d4b8b0e-6a4f-4c9b-9e4e-1f3f6c0c2a11": "Not interested",
}
DISPOSITION_BY_LABEL: dict[str, str] = {label: guid for guid, label in CALL_DISPOSITIONS.items()}

STANDARD_EVENT_TYPES: tuple[str, ...] = (
    "e_visited_page",
    "e_submitted_form",
    "e_opened_marketing_email",
    "e_clicked_marketing_email",
)

CUSTOM_EVENT_NAMES: tuple[str, ...] = (
    "marketing_email_unsubscribed",
    "marketing_email_spam_reported",
    "marketing_email_bounced",
    "webinar_registered",
    "webinar_attended",
    "webinar_question_asked",
    "social_followed",
    "social_commented",
    "social_messaged",
)


def custom_event_type(portal_id: int, name: str) -> str:
    """A portal's custom event type name, `pe<portalId>_<name>`."""
    return f"pe{portal_id}_{name}"
