"""The canonical activity kinds connectors emit and scoring presets reference.

Connectors translate vendor events into these kinds so that one scoring preset works
against every CRM. A kind is ``<action>`` or ``<action>:<detail>``; presets may match a
whole family with a trailing ``*`` (``page_view:*``).
"""

from __future__ import annotations

from leadbridge.core.models import Channel

__all__ = ["KINDS", "channel_of"]

KINDS: dict[str, Channel] = {
    # web (seed 003: home 1, blog 3, pricing 15, buy/book click 25)
    "page_view:home": Channel.WEB,
    "page_view:blog": Channel.WEB,
    "page_view:pricing": Channel.WEB,
    "page_view:case_study": Channel.WEB,
    "page_view:demo": Channel.WEB,
    "page_view:rates": Channel.WEB,
    "page_view:other": Channel.WEB,
    "cta_click:buy": Channel.WEB,
    "form_submit": Channel.WEB,
    "content_download": Channel.WEB,
    "simulator_use": Channel.WEB,
    "site_visit": Channel.WEB,
    "ad_hide": Channel.WEB,
    # email (open 2, click 8, reply 20; unsubscribe -30, spam -40)
    "email_open": Channel.EMAIL,
    "email_click": Channel.EMAIL,
    "email_reply": Channel.EMAIL,
    "email_sent": Channel.EMAIL,
    "email_unsubscribe": Channel.EMAIL,
    "email_spam_report": Channel.EMAIL,
    "email_bounce": Channel.EMAIL,
    # social (follow 3, comment 10, private message 18)
    "social_follow": Channel.SOCIAL,
    "social_comment": Channel.SOCIAL,
    "social_message": Channel.SOCIAL,
    # events (register 12, attend 25, question 35)
    "webinar_registered": Channel.EVENT,
    "webinar_attended": Channel.EVENT,
    "webinar_question": Channel.EVENT,
    # offline (trade show 8, QR/docs 15, left details 20, meeting request 40)
    "tradeshow_visit": Channel.OFFLINE,
    "qr_scan": Channel.OFFLINE,
    "contact_left": Channel.OFFLINE,
    "meeting_request": Channel.OFFLINE,
    "meeting_held": Channel.OFFLINE,
    # phone and chat
    "call_completed": Channel.PHONE,
    "call_refused": Channel.PHONE,
    "chat_message": Channel.CHAT,
    "note": Channel.OFFLINE,
}


def channel_of(kind: str) -> Channel | None:
    """The channel a canonical kind belongs to, or None for an unknown kind."""
    return KINDS.get(kind)
