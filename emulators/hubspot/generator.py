"""Seeded, realistic HubSpot portals: contacts, months of activity, rollups, bad records.

Leads fall into engagement tiers (cold 55 %, warm 28 %, hot 12 %, very hot 5 %) that
drive how many page views, e-mail interactions, form fills, webinars, calls and meetings
they get, so scores come out mixed. Negative signals (unsubscribes, spam reports, bounces,
refused calls) are sprinkled in; every 500th contact (0.2 %) carries a deliberately invalid
value (malformed e-mail, non-option `numemployees`, junk phone) for dead-letter paths and
every 331st is archived (0.3 %, listed with `archived=true`).
On average a lead has ~6-7 Events-API events and ~1.5 engagements.

Each contact also walks a sales funnel (lead → MQL → SQL → customer) whose odds and pace
follow its engagement tier, with HubSpot's ``hs_lifecyclestage_*_date`` stamps: a stage
dated after `now` is not reached yet, so recent contacts are still open, old engaged ones
became customers (about 2 % of cold and 45 % of very hot contacts eventually do) and some
SQLs were disqualified (``hs_lead_status=UNQUALIFIED``). The funnel draws from its own
seeded stream, so the rest of a portal is the same as without it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from leadbridge.emulators.common.fakedata import Person, fake_person, weighted
from leadbridge.emulators.common.timefmt import now_ms, to_iso_ms, to_ms
from leadbridge.emulators.hubspot.activity import (
    DAY_MS,
    HOUR_MS,
    NOTES,
    PAGE_TITLES,
    PAGES,
    SITE,
    TIERS,
    ActivityBuilder,
)
from leadbridge.emulators.hubspot.catalog import custom_event_type
from leadbridge.emulators.hubspot.portal import Portal, WebEvent
from leadbridge.emulators.hubspot.store import CrmRecord

__all__ = ["SITE", "generate_portal", "mutate_portal"]
FUNNEL: dict[str, tuple[float, float, float, float, float, float]] = {
    # tier: P(MQL), P(SQL | MQL), P(customer | SQL), mean days to MQL, MQL→SQL, SQL→won
    "cold": (0.10, 0.30, 0.55, 30.0, 21.0, 40.0),
    "warm": (0.45, 0.40, 0.55, 18.0, 14.0, 32.0),
    "hot": (0.85, 0.55, 0.55, 7.0, 10.0, 26.0),
    "very_hot": (0.97, 0.75, 0.62, 3.0, 6.0, 20.0),
}
LIFECYCLE_BY_TIER = {
    "cold": ("subscriber", "lead", "lead"),
    "warm": ("lead", "marketingqualifiedlead"),
    "hot": ("marketingqualifiedlead", "salesqualifiedlead"),
    "very_hot": ("salesqualifiedlead", "opportunity", "customer"),
}
EMPLOYEES = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
)


def _contact_properties(
    rng: random.Random, person: Person, tier: str, owners: list[str]
) -> dict[str, str]:
    loc = person.locale
    zip_code = (
        str(rng.randint(1000, 9658))
        if loc.country == "Switzerland"
        else str(rng.randint(10000, 99999))
    )
    props = {
        "email": person.email,
        "firstname": person.firstname,
        "lastname": person.lastname,
        "phone": person.phone,
        "company": person.company,
        "jobtitle": person.jobtitle,
        "industry": person.industry,
        "numemployees": rng.choice(EMPLOYEES),
        "country": loc.country,
        "state": loc.state,
        "city": loc.city,
        "zip": zip_code,
        "hs_language": loc.language,
        "lifecyclestage": rng.choice(LIFECYCLE_BY_TIER[tier]),
        "hs_lead_status": rng.choice(
            ("NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "UNQUALIFIED")
        ),
        "hubspot_owner_id": rng.choice(owners),
        "hs_analytics_source": rng.choice(SOURCES),
        "website": "https://" + person.email.split("@")[1],
    }
    if rng.random() < 0.25:
        props["mobilephone"] = person.phone
    return props


def _rollups(props: dict[str, str], events: list[WebEvent], portal_id: int) -> None:
    """Fill the read-only rollup properties from the contact's events."""
    by_type: dict[str, list[int]] = {}
    sessions: set[str] = set()
    for e in events:
        by_type.setdefault(e.event_type, []).append(e.occurred_ms)
        if e.event_type == "e_visited_page":
            sessions.add(e.properties.get("hs_session_id", ""))
    opens, clicks = (
        by_type.get("e_opened_marketing_email", []),
        by_type.get("e_clicked_marketing_email", []),
    )
    views, forms = by_type.get("e_visited_page", []), by_type.get("e_submitted_form", [])
    bounces = by_type.get(custom_event_type(portal_id, "marketing_email_bounced"), [])
    unsub = by_type.get(custom_event_type(portal_id, "marketing_email_unsubscribed"), [])
    props["hs_email_open"] = str(len(opens))
    props["hs_email_click"] = str(len(clicks))
    props["hs_email_delivered"] = str(len(opens) + len(clicks) // 2 + (len(opens) > 0))
    props["hs_email_bounce"] = str(len(bounces))
    props["hs_email_optout"] = "true" if unsub else "false"
    props["hs_analytics_num_page_views"] = str(len(views))
    props["hs_analytics_num_visits"] = str(len(sessions))
    props["num_conversion_events"] = str(len(forms))
    for name, stamps in (
        ("hs_email_last_open_date", opens),
        ("hs_email_last_click_date", clicks),
        ("hs_analytics_last_visit_timestamp", views),
        ("recent_conversion_date", forms),
    ):
        if stamps:
            props[name] = to_iso_ms(max(stamps))
    if views:
        props["hs_analytics_first_timestamp"] = to_iso_ms(min(views))
    if forms:
        props["first_conversion_date"] = to_iso_ms(min(forms))


def _funnel(rng: random.Random, props: dict[str, str], tier: str, created: int, end: int) -> int:
    """Walk the contact down the funnel; set its stage, stage dates and status.

    Returns the time of the last stage change (the record's modification time).
    """
    p_mql, p_sql, p_won, to_mql, to_sql, to_won = FUNNEL[tier]
    props["hs_lifecyclestage_lead_date"] = to_iso_ms(created)
    stage, last = "lead", created
    steps = (
        ("marketingqualifiedlead", p_mql, to_mql),
        ("salesqualifiedlead", p_sql, to_sql),
        ("customer", p_won, to_won),
    )
    for name, chance, mean_days in steps:
        at = last + int(rng.expovariate(1.0 / mean_days) * DAY_MS) + rng.randint(0, DAY_MS)
        if rng.random() >= chance:
            if stage == "salesqualifiedlead" and at <= end and rng.random() < 0.7:
                props["hs_lead_status"] = "UNQUALIFIED"  # the deal was lost
                last = at
            break
        if at > end:
            break  # not there yet: the contact is still open at this stage
        stage, last = name, at
        props[f"hs_lifecyclestage_{name}_date"] = to_iso_ms(at)
    if stage == "customer":
        props["hs_lead_status"] = "CONNECTED"
    props["lifecyclestage"] = stage
    return last


def _spoil(rng: random.Random, props: dict[str, str]) -> None:
    """Make one value invalid, as real portals always have a few."""
    kind = rng.choice(("email", "numemployees", "phone"))
    if kind == "email":
        props["email"] = rng.choice(
            (props["email"].replace("@", "@@"), props["email"].replace("@", " at "), "n/a")
        )
    elif kind == "numemployees":
        props["numemployees"] = rng.choice(("beaucoup", "approx. fifty", "-3"))
    else:
        props["phone"] = rng.choice(("n/a", "+41 79 ABC DE FG", "123"))


def generate_portal(
    n_leads: int = 5000, *, seed: int = 42, now: datetime | None = None, months: int = 6
) -> Portal:
    """A deterministic portal of `n_leads` contacts with `months` of activity up to `now`."""
    rng = random.Random(seed)
    funnel_rng = random.Random(f"funnel-{seed}")
    end = to_ms(now) if now is not None else to_ms(datetime.now(UTC))
    start = end - int(months * 30.44 * DAY_MS)
    portal = Portal()
    builder = ActivityBuilder(portal, rng, start, end)
    records: list[CrmRecord] = []
    all_events: list[WebEvent] = []
    for serial in range(n_leads):
        person = fake_person(rng, serial)
        tier = weighted(rng, TIERS)
        created = start + int((end - start - DAY_MS) * rng.random())
        props = _contact_properties(rng, person, tier, portal.owners)
        record = CrmRecord(portal.new_contact_id(), props, created, created)
        events = builder.activity(record, person, tier)
        latest = builder.engagements(record, person, tier)
        _rollups(props, events, portal.portal_id)
        stage_changed = _funnel(funnel_rng, props, tier, created, end)
        if events:
            latest = max(latest, max(e.occurred_ms for e in events))
            props["notes_last_contacted"] = to_iso_ms(latest) if latest > created else ""
        if serial % 500 == 250:
            _spoil(rng, props)
        props = {k: v for k, v in props.items() if v != ""}
        record.properties = props
        record.updated_ms = min(max(latest, stage_changed) + rng.randint(0, 2 * HOUR_MS), end)
        if serial % 331 == 17:
            record.archived_ms = min(record.updated_ms + DAY_MS, end)
        records.append(record)
        all_events.extend(events)
    portal.load_contacts(records)
    portal.events.load(all_events)
    return portal


def mutate_portal(portal: Portal, fraction: float, *, seed: int) -> list[str]:
    """Edit ~`fraction` of live contacts: one property, one new activity, a fresh timestamp."""
    rng = random.Random(seed)
    with portal.lock:
        live = list(portal.contacts.by_id)
        if not live or fraction <= 0:
            return []
        chosen = sorted(rng.sample(live, max(1, min(len(live), round(fraction * len(live))))))
        for object_id in chosen:
            record = portal.contacts.records[object_id]
            at = now_ms()
            kind = rng.choice(("pricing", "blog", "demo", "buy", "home"))
            event = portal.add_event(
                "e_visited_page",
                object_id,
                at,
                {
                    "hs_url": SITE + rng.choice(PAGES[kind]),
                    "hs_page_title": PAGE_TITLES[kind],
                    "hs_session_id": f"{object_id}-m{at}",
                },
            )
            views = int(record.properties.get("hs_analytics_num_page_views", "0") or 0) + 1
            values = {
                "jobtitle": rng.choice(
                    (
                        "Head of Sales",
                        "CFO",
                        "Directeur commercial",
                        "Leiter Marketing",
                        "Procurement Lead",
                    )
                ),
                "hs_analytics_num_page_views": str(views),
                "hs_analytics_last_visit_timestamp": to_iso_ms(event.occurred_ms),
            }
            if rng.random() < 0.3:
                portal.add_engagement(
                    "notes",
                    {"hs_note_body": rng.choice(NOTES), "hs_timestamp": to_iso_ms(at)},
                    [object_id],
                    created_ms=at,
                )
            portal.update_contact(record, values, at)
        return [str(i) for i in chosen]
