"""Synthetic activity for generated portals: web events, e-mail, calls, meetings, notes.

Each lead's engagement tier sets the Poisson means of its page views, marketing-email
opens and clicks, form fills, webinars and social touches (Events API) and of its sales
e-mails, replies, calls (some refused: "Not interested"), meetings and notes (CRM
engagements associated with the contact). Page URLs tell home, blog, pricing, case-study,
demo and buy pages apart through `hs_url`.
"""

from __future__ import annotations

import random

from leadbridge.emulators.common.fakedata import Person, poisson, slugify, weighted
from leadbridge.emulators.common.timefmt import to_iso_ms
from leadbridge.emulators.hubspot.catalog import DISPOSITION_BY_LABEL, custom_event_type
from leadbridge.emulators.hubspot.portal import Portal, WebEvent
from leadbridge.emulators.hubspot.store import CrmRecord

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "NOTES",
    "PAGES",
    "PAGE_TITLES",
    "SITE",
    "TIERS",
    "ActivityBuilder",
]

SITE = "https://www.alpenlead.ch"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000

TIERS: tuple[tuple[str, float], ...] = (
    ("cold", 0.55),
    ("warm", 0.28),
    ("hot", 0.12),
    ("very_hot", 0.05),
)
PAGES: dict[str, tuple[str, ...]] = {
    "home": ("/", "/fr/", "/de/", "/it/"),
    "blog": (
        "/blog/crm-scoring-basics",
        "/blog/lead-nurturing-suisse",
        "/fr/blog/prospection-b2b",
        "/de/blog/vertrieb-automatisieren",
        "/blog/gdpr-and-marketing",
    ),
    "pricing": ("/pricing", "/fr/tarifs", "/de/preise"),
    "case_study": ("/case-studies/banque-cantonale", "/case-studies/swiss-logistics"),
    "demo": ("/demo", "/fr/demo"),
    "buy": ("/buy", "/checkout", "/fr/acheter"),
}
PAGE_TITLES = {
    "home": "AlpenLead – B2B lead management",
    "blog": "Blog – AlpenLead",
    "pricing": "Pricing – AlpenLead",
    "case_study": "Customer story – AlpenLead",
    "demo": "Book a demo – AlpenLead",
    "buy": "Checkout – AlpenLead",
}
PAGE_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    "cold": (("home", 0.6), ("blog", 0.38), ("pricing", 0.02)),
    "warm": (("home", 0.35), ("blog", 0.4), ("pricing", 0.15), ("case_study", 0.1)),
    "hot": (
        ("home", 0.2),
        ("blog", 0.25),
        ("pricing", 0.3),
        ("case_study", 0.12),
        ("demo", 0.1),
        ("buy", 0.03),
    ),
    "very_hot": (
        ("home", 0.1),
        ("blog", 0.15),
        ("pricing", 0.35),
        ("case_study", 0.1),
        ("demo", 0.15),
        ("buy", 0.15),
    ),
}
# (page views, email opens, clicks, forms, webinar, social) means per tier
EVENT_MEANS: dict[str, tuple[float, float, float, float, float, float]] = {
    "cold": (1.4, 1.0, 0.15, 0.05, 0.02, 0.05),
    "warm": (3.5, 2.6, 0.9, 0.5, 0.25, 0.3),
    "hot": (6.5, 3.5, 1.8, 1.2, 0.6, 0.5),
    "very_hot": (9.0, 4.5, 2.8, 1.8, 0.9, 0.8),
}
# (sales emails, replies, calls, meetings, notes) means per tier
ENGAGEMENT_MEANS: dict[str, tuple[float, float, float, float, float]] = {
    "cold": (0.35, 0.0, 0.15, 0.0, 0.05),
    "warm": (0.8, 0.2, 0.5, 0.1, 0.2),
    "hot": (1.2, 0.6, 0.8, 0.5, 0.4),
    "very_hot": (1.4, 1.0, 1.0, 0.9, 0.6),
}
SUBJECTS = (
    "Votre essai AlpenLead",
    "Ihre Demo-Anfrage",
    "Newsletter – mars",
    "Webinar: scoring prédictif",
    "Case study: Banque cantonale",
    "Offre spéciale PME",
)
FORMS = ("Contact us", "Demande de démo", "Newsletter", "Whitepaper download", "Rückruf anfordern")
WEBINARS = ("Scoring prédictif en 45 min", "CRM-Daten richtig nutzen", "GDPR for marketers")
NOTES = (
    "Intéressé par la version Pro, budget environ 20k CHF, décision au T3.",
    "Möchte ein Angebot für 25 Benutzer; Entscheidung durch den CFO.",
    "Asked for references in banking; follow up after the trade show.",
    "Pas de budget cette année, rappeler en janvier.",
    "Sehr interessiert, Demo mit dem IT-Team vereinbart.",
    "Met at Swiss Marketing Forum, left business card, wants pricing.",
    "Concurrent déjà en place, contrat jusqu'à fin 2025.",
)


class ActivityBuilder:
    """Synthesises one portal's activity; holds the rng and the running event sequence."""

    def __init__(self, portal: Portal, rng: random.Random, start: int, end: int) -> None:
        self.portal = portal
        self.rng = rng
        self.start = start
        self.end = end
        self.seq = 0

    def when(self, after: int) -> int:
        """A moment between `after` and the end of the window, skewed towards recent."""
        span = max(self.end - after, 1)
        return after + int(span * (self.rng.random() ** 0.7))

    def event(self, name: str, contact: int, at: int, props: dict[str, str]) -> WebEvent:
        self.seq += 1
        return WebEvent(self.seq, self.portal.event_id(self.seq), name, contact, at, props)

    def page_view(self, lead_id: int, tier: str, at: int, session: str) -> WebEvent:
        kind = weighted(self.rng, PAGE_WEIGHTS[tier])
        path = self.rng.choice(PAGES[kind])
        return self.event(
            "e_visited_page",
            lead_id,
            at,
            {
                "hs_url": SITE + path,
                "hs_page_title": PAGE_TITLES[kind],
                "hs_page_content_type": "BLOG_POST" if kind == "blog" else "STANDARD_PAGE",
                "hs_referrer": self.rng.choice(
                    ("https://www.google.ch/", "https://www.linkedin.com/", "")
                ),
                "hs_session_id": session,
                "hs_device_type": self.rng.choice(("desktop", "desktop", "mobile", "tablet")),
            },
        )

    def activity(self, record: CrmRecord, person: Person, tier: str) -> list[WebEvent]:
        rng, cid, created = self.rng, record.id, record.created_ms
        pv, opens, clicks, forms, webinar, social = EVENT_MEANS[tier]
        out: list[WebEvent] = []
        sessions = max(1, poisson(rng, pv / 2.2))
        for _ in range(poisson(rng, pv)):
            session = f"{cid}-{rng.randrange(sessions)}"
            out.append(self.page_view(cid, tier, self.when(created), session))

        def campaign() -> str:
            return str(rng.randint(100_000, 100_050))

        for _ in range(poisson(rng, opens)):
            out.append(
                self.event(
                    "e_opened_marketing_email",
                    cid,
                    self.when(created),
                    {"hs_email_campaign_id": campaign(), "hs_email_subject": rng.choice(SUBJECTS)},
                )
            )
        for _ in range(poisson(rng, clicks)):
            kind = weighted(rng, PAGE_WEIGHTS[tier])
            out.append(
                self.event(
                    "e_clicked_marketing_email",
                    cid,
                    self.when(created),
                    {
                        "hs_email_campaign_id": campaign(),
                        "hs_email_subject": rng.choice(SUBJECTS),
                        "hs_url": SITE + rng.choice(PAGES[kind]),
                    },
                )
            )
        for _ in range(poisson(rng, forms)):
            title = rng.choice(FORMS)
            out.append(
                self.event(
                    "e_submitted_form",
                    cid,
                    self.when(created),
                    {
                        "hs_form_id": f"form-{slugify(title)}",
                        "hs_form_title": title,
                        "hs_url": SITE + rng.choice(PAGES["demo"] + PAGES["home"]),
                    },
                )
            )
        pid = self.portal.portal_id
        if rng.random() < webinar:
            name = rng.choice(WEBINARS)
            at = max(created, min(self.when(created), self.end - 4 * DAY_MS))
            out.append(
                self.event(
                    custom_event_type(pid, "webinar_registered"), cid, at, {"webinar_name": name}
                )
            )
            if rng.random() < 0.6:
                out.append(
                    self.event(
                        custom_event_type(pid, "webinar_attended"),
                        cid,
                        min(at + 3 * DAY_MS, self.end),
                        {"webinar_name": name},
                    )
                )
                if rng.random() < 0.3:
                    out.append(
                        self.event(
                            custom_event_type(pid, "webinar_question_asked"),
                            cid,
                            min(at + 3 * DAY_MS + 1_800_000, self.end),
                            {"webinar_name": name, "question": "Does it integrate with our CRM?"},
                        )
                    )
        for _ in range(poisson(rng, social)):
            action = rng.choice(
                ("social_followed", "social_followed", "social_commented", "social_messaged")
            )
            out.append(
                self.event(
                    custom_event_type(pid, action),
                    cid,
                    self.when(created),
                    {
                        "network": rng.choice(("linkedin", "x", "facebook")),
                        "hs_url": "https://www.linkedin.com/company/alpenlead",
                    },
                )
            )
        negative = {"cold": 0.06, "warm": 0.03, "hot": 0.01, "very_hot": 0.005}[tier]
        for name, chance in (
            ("marketing_email_unsubscribed", negative),
            ("marketing_email_spam_reported", negative / 4),
            ("marketing_email_bounced", 0.02),
        ):
            if rng.random() < chance:
                props = {
                    "hs_email_campaign_id": campaign(),
                    "hs_email_subject": rng.choice(SUBJECTS),
                }
                if name == "marketing_email_bounced":
                    props["hs_bounce_category"] = rng.choice(("HARD_BOUNCE", "SOFT_BOUNCE"))
                out.append(self.event(custom_event_type(pid, name), cid, self.when(created), props))
        return out

    def engagements(self, record: CrmRecord, person: Person, tier: str) -> int:
        """Create sales emails, replies, calls, meetings, notes; return the latest time."""
        rng, portal, cid = self.rng, self.portal, record.id
        owner = record.properties.get("hubspot_owner_id", portal.owners[0])
        sent, replies, calls, meetings, notes = ENGAGEMENT_MEANS[tier]
        latest = record.created_ms
        base = {"hubspot_owner_id": owner}

        def add(kind: str, at: int, props: dict[str, str]) -> None:
            nonlocal latest
            latest = max(latest, at)
            full = {k: v for k, v in {**base, "hs_timestamp": to_iso_ms(at), **props}.items() if v}
            portal.add_engagement(
                kind,
                full,
                [cid],
                created_ms=at,
                modified_ms=min(at + rng.randint(0, HOUR_MS), self.end),
            )

        for _ in range(poisson(rng, sent)):
            at = self.when(record.created_ms)
            subject = rng.choice(SUBJECTS)
            add(
                "emails",
                at,
                {
                    "hs_email_direction": "EMAIL",
                    "hs_email_status": "SENT",
                    "hs_email_subject": subject,
                    "hs_email_text": f"Bonjour {person.firstname}, suite à votre visite…",
                    "hs_email_to_email": person.email,
                },
            )
            if rng.random() < replies:
                add(
                    "emails",
                    min(at + rng.randint(HOUR_MS, 3 * DAY_MS), self.end),
                    {
                        "hs_email_direction": "INCOMING_EMAIL",
                        "hs_email_status": "SENT",
                        "hs_email_subject": f"RE: {subject}",
                        "hs_email_text": rng.choice(
                            (
                                "Merci, pouvons-nous en parler mardi ?",
                                "Bitte senden Sie mir ein Angebot.",
                                "Not interested, please remove me.",
                            )
                        ),
                        "hs_email_from_email": person.email,
                    },
                )
        for _ in range(poisson(rng, calls)):
            outcome = rng.choices(
                (
                    "Connected",
                    "No answer",
                    "Left voicemail",
                    "Busy",
                    "Not interested",
                    "Wrong number",
                ),
                (0.35, 0.25, 0.15, 0.05, 0.17, 0.03),
            )[0]
            status = {"No answer": "NO_ANSWER", "Busy": "BUSY"}.get(outcome, "COMPLETED")
            body = {
                "Not interested": "Prospect refused: not interested, do not call again.",
                "Connected": "Discussed needs and next steps.",
            }.get(outcome, "")
            add(
                "calls",
                self.when(record.created_ms),
                {
                    "hs_call_title": f"Call with {person.firstname} {person.lastname}",
                    "hs_call_direction": rng.choice(("OUTBOUND", "OUTBOUND", "INBOUND")),
                    "hs_call_disposition": DISPOSITION_BY_LABEL[outcome],
                    "hs_call_status": status,
                    "hs_call_duration": str(
                        rng.randint(30, 1500) * 1000 if status == "COMPLETED" else 0
                    ),
                    "hs_call_body": body,
                },
            )
        for _ in range(poisson(rng, meetings)):
            at = self.when(record.created_ms)
            outcome = rng.choices(
                ("COMPLETED", "SCHEDULED", "NO_SHOW", "CANCELED", "RESCHEDULED"),
                (0.6, 0.15, 0.1, 0.1, 0.05),
            )[0]
            add(
                "meetings",
                at,
                {
                    "hs_meeting_title": "Démo AlpenLead",
                    "hs_meeting_body": "Product demo and pricing discussion",
                    "hs_meeting_start_time": to_iso_ms(at),
                    "hs_meeting_end_time": to_iso_ms(at + HOUR_MS),
                    "hs_meeting_outcome": outcome,
                    "hs_meeting_location": rng.choice(("Zoom", "Teams", person.locale.city)),
                },
            )
        for _ in range(poisson(rng, notes)):
            add("notes", self.when(record.created_ms), {"hs_note_body": rng.choice(NOTES)})
        return latest
