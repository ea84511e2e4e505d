"""Seeded, realistic ActiveCampaign accounts: contacts, custom fields, months of activity.

Leads fall into engagement tiers (cold 55 %, warm 28 %, hot 12 %, very hot 5 %) that
drive campaign opens, link clicks, replies, form submissions, site visits (tracking logs
with URLs of the home page, blog, pricing, case studies, demo and checkout) and custom
tracked events, so scores come out mixed. Unsubscribes and bounces are sprinkled in.
Every 500th contact (0.2 %) carries a deliberately invalid value (an e-mail AC's
importer would refuse, or a company size that is not a size) for the dead-letter paths.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from leadbridge.emulators.activecampaign.account import Account, Contact
from leadbridge.emulators.common.fakedata import fake_person, poisson, weighted

__all__ = [
    "ACTIVITY_TYPES",
    "FIELDS",
    "SITE",
    "generate_activecampaign",
    "mutate_account",
]

SITE = "https://www.alpenlead.ch"
DAY_S = 86_400

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Company", "text", "COMPANY"),
    ("Job Title", "text", "JOB_TITLE"),
    ("Industry", "dropdown", "INDUSTRY"),
    ("Company Size", "dropdown", "COMPANY_SIZE"),
    ("Country", "text", "COUNTRY"),
    ("Canton / State", "text", "STATE"),
    ("Language", "dropdown", "LANGUAGE"),
    ("Lifecycle Stage", "dropdown", "LIFECYCLE_STAGE"),
    ("Lead Source", "text", "LEAD_SOURCE"),
)
"""(title, type, perstag) of the custom fields every generated account has."""

ACTIVITY_TYPES: dict[str, tuple[str, str, str]] = {
    "sent": ("Log", "send", "log"),
    "open": ("Open", "open", "open"),
    "click": ("LinkData", "click", "link-data"),
    "reply": ("SubscriberEmail", "reply", "contact-email"),
    "unsubscribe": ("Unsubscribe", "unsubscribe", "unsubscribe"),
    "bounce": ("Bounce", "bounce", "bounce"),
    "form": ("Form", "submit", "form"),
    "note": ("SubscriberNote", "", "note"),
}
"""Our name -> (reference_type, reference_action, referenceModelName) of the feed entry."""

PAGES: dict[str, tuple[str, ...]] = {
    "home": ("/", "/fr/", "/de/", "/it/"),
    "blog": (
        "/blog/crm-scoring-basics",
        "/fr/blog/prospection-b2b",
        "/de/blog/vertrieb-automatisieren",
    ),
    "pricing": ("/pricing", "/fr/tarifs", "/de/preise"),
    "case_study": ("/case-studies/banque-cantonale", "/case-studies/swiss-logistics"),
    "demo": ("/demo", "/fr/demo"),
    "buy": ("/buy", "/checkout", "/fr/acheter"),
}
EVENTS = ("webinar_registered", "webinar_attended", "Downloaded whitepaper", "Used simulator")
TIERS: tuple[tuple[str, float], ...] = (
    ("cold", 0.55),
    ("warm", 0.28),
    ("hot", 0.12),
    ("very_hot", 0.05),
)
PAGE_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    "cold": (("home", 0.6), ("blog", 0.38), ("pricing", 0.02)),
    "warm": (("home", 0.35), ("blog", 0.4), ("pricing", 0.15), ("case_study", 0.1)),
    "hot": (
        ("home", 0.2), ("blog", 0.25), ("pricing", 0.3),
        ("case_study", 0.12), ("demo", 0.1), ("buy", 0.03),
    ),
    "very_hot": (
        ("home", 0.1), ("blog", 0.15), ("pricing", 0.35),
        ("case_study", 0.1), ("demo", 0.15), ("buy", 0.15),
    ),
}  # fmt: skip
# (visits, sent, opens, clicks, replies, forms, events) means per tier
MEANS: dict[str, tuple[float, float, float, float, float, float, float]] = {
    "cold": (1.4, 3.0, 1.0, 0.15, 0.0, 0.05, 0.05),
    "warm": (3.5, 4.0, 2.6, 0.9, 0.2, 0.5, 0.4),
    "hot": (6.5, 4.0, 3.5, 1.8, 0.6, 1.2, 0.9),
    "very_hot": (9.0, 4.0, 4.5, 2.8, 1.0, 1.8, 1.4),
}
SIZES = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
STAGES = {
    "cold": ("subscriber", "lead"),
    "warm": ("lead", "marketingqualifiedlead"),
    "hot": ("marketingqualifiedlead", "salesqualifiedlead"),
    "very_hot": ("salesqualifiedlead", "opportunity", "customer"),
}
SOURCES = ("organic", "paid_search", "email", "social", "referral", "event", "direct")


def _when(rng: random.Random, after: int, end: int) -> int:
    """A moment between `after` and `end`, skewed towards recent."""
    return after + int(max(end - after, 1) * (rng.random() ** 0.7))


def _activity(account: Account, rng: random.Random, contact: Contact, tier: str, end: int) -> int:
    """Feed entries and tracking logs for one contact; returns the latest instant."""
    visits, sent, opens, clicks, replies, forms, events = MEANS[tier]
    stamps = [contact.cdate]

    def feed(kind: str, at: int) -> None:
        ref_type, action, model = ACTIVITY_TYPES[kind]
        account.add_activity(contact.id, at, ref_type, action, model)
        stamps.append(at)

    for kind, mean in (
        ("sent", sent),
        ("open", opens),
        ("click", clicks),
        ("reply", replies),
        ("form", forms),
    ):
        for _ in range(poisson(rng, mean)):
            feed(kind, _when(rng, contact.cdate, end))
    contact.sentcnt = len(account.activities.get(contact.id, []))
    if rng.random() < 0.03:
        feed("unsubscribe", _when(rng, contact.cdate, end))
    if rng.random() < 0.015:
        feed("bounce", _when(rng, contact.cdate, end))
        contact.bounced_hard = True
    if rng.random() < 0.1:
        feed("note", _when(rng, contact.cdate, end))
    for _ in range(poisson(rng, visits)):
        page = weighted(rng, PAGE_WEIGHTS[tier])
        at = _when(rng, contact.cdate, end)
        account.add_tracking(contact.id, "visit", SITE + rng.choice(PAGES[page]), at)
        stamps.append(at)
    for _ in range(poisson(rng, events)):
        at = _when(rng, contact.cdate, end)
        account.add_tracking(contact.id, rng.choice(EVENTS), "", at)
        stamps.append(at)
    return max(stamps)


def generate_activecampaign(
    n_leads: int = 5000,
    *,
    seed: int = 42,
    now: datetime | None = None,
    months: int = 6,
    timezone: str = "America/Chicago",
) -> Account:
    """A deterministic account of `n_leads` contacts with `months` of history up to `now`."""
    rng = random.Random(seed)
    end = int((now or datetime.now(UTC)).timestamp())
    start = end - int(months * 30.44 * DAY_S)
    account = Account(timezone=timezone)
    with account.lock:
        fields = {
            perstag: account.add_field(title, type_, perstag=perstag).id
            for title, type_, perstag in FIELDS
        }
        for spec in account.fields.values():
            spec.cdate = spec.udate = start
            account.add_field_rel(spec.id, 0)
        for serial in range(n_leads):
            person = fake_person(rng, serial)
            tier = weighted(rng, TIERS)
            created = start + int((end - start - DAY_S) * rng.random())
            email = person.email
            spoil = serial % 500 == 250
            if spoil and rng.random() < 0.5:
                email = email.replace("@", " at ")
            contact = account.add_contact(
                email,
                first_name=person.firstname,
                last_name=person.lastname,
                phone=person.phone if rng.random() < 0.8 else "",
                cdate=created,
            )
            size = rng.choice(SIZES)
            if spoil and "@" in email:
                size = rng.choice(("beaucoup", "approx. fifty", "-3"))
            values = {
                "COMPANY": person.company,
                "JOB_TITLE": person.jobtitle,
                "INDUSTRY": person.industry,
                "COMPANY_SIZE": size,
                "COUNTRY": person.locale.country,
                "STATE": person.locale.state,
                "LANGUAGE": person.locale.language,
                "LIFECYCLE_STAGE": rng.choice(STAGES[tier]),
                "LEAD_SOURCE": rng.choice(SOURCES),
            }
            for perstag, value in values.items():
                if value and rng.random() < 0.93:
                    account.set_value(contact, fields[perstag], value, created)
            latest = _activity(account, rng, contact, tier, end)
            contact.udate = min(latest + rng.randint(0, 7200), end)
    return account


def mutate_account(account: Account, fraction: float, *, seed: int) -> list[str]:
    """Edit ~`fraction` of contacts: a job title, a pricing visit, an open; fresh ``udate``."""
    rng = random.Random(seed)
    with account.lock:
        live = list(account.contacts)
        if not live or fraction <= 0:
            return []
        chosen = sorted(rng.sample(live, max(1, min(len(live), round(fraction * len(live))))))
        title = account.field_by_perstag("JOB_TITLE")
        now = int(time.time())
        for contact_id in chosen:
            contact = account.contacts[contact_id]
            if title is not None:
                account.set_value(
                    contact,
                    title.id,
                    rng.choice(
                        ("Head of Sales", "CFO", "Directeur commercial", "Leiter Marketing")
                    ),
                    now,
                )
            page = rng.choice(("pricing", "demo", "buy", "blog"))
            account.add_tracking(contact_id, "visit", SITE + rng.choice(PAGES[page]), now)
            ref_type, action, model = ACTIVITY_TYPES["open"]
            account.add_activity(contact_id, now, ref_type, action, model)
            account.touch(contact, now)
        return [str(i) for i in chosen]
