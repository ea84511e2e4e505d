"""Deterministic Salesforce orgs: leads, contacts with accounts, and their activity.

`generate_salesforce(n, seed=…)` fills an `Org` with `n` people (about two thirds Leads,
the rest Contacts of Accounts), created over the last nine months, with Tasks (emails,
calls), Events (meetings) and campaign memberships (webinars, trade shows, e-mail
campaigns). Engagement is heavy-tailed (most people did little, a few did a lot) so score
tiers come out mixed; some leads are converted (won) or closed (lost), a few records are
in the recycle bin, and about 0.2 % are deliberately invalid (a malformed e-mail, a
negative head-count) to exercise the connector's reject path.
"""

from __future__ import annotations

import random
from typing import Any

from leadbridge.emulators.common.fakedata import Person, fake_person
from leadbridge.emulators.common.timefmt import now_ms
from leadbridge.emulators.salesforce.org import Org
from leadbridge.emulators.salesforce.schema import format_date

__all__ = ["CAMPAIGNS", "add_same_timestamp", "generate_salesforce", "mutate_org"]

DAY_MS = 86_400_000

CAMPAIGNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Webinar: Pricing & ROI 2026", "Webinar", ("Invited", "Registered", "Attended", "No Show")),
    ("Webinar: Produktdemo", "Webinar", ("Invited", "Registered", "Attended", "No Show")),
    ("Swiss Fintech Day Zürich", "Trade Show", ("Invited", "Visited Booth", "Scanned")),
    ("Salon de l'Immobilier Genève", "Trade Show", ("Invited", "Visited Booth", "Scanned")),
    ("Newsletter Q1", "Email", ("Sent", "Opened", "Clicked", "Unsubscribed")),
    ("Whitepaper: Lead Scoring", "Other", ("Sent", "Responded")),
)
RESPONDED = frozenset(
    {"Registered", "Attended", "Visited Booth", "Scanned", "Opened", "Clicked", "Responded"}
)
LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Trade Show",
    "Webinar",
    "LinkedIn",
    "Other",
)
OPEN_STATUSES = ("Open - Not Contacted", "Working - Contacted")
CALL_DISPOSITIONS = ("Connected", "Left Voicemail", "No Answer", "Not Interested", "Meeting Booked")
RATINGS = ("Hot", "Warm", "Cold", None)


def _engagement(rng: random.Random) -> float:
    """Heavy-tailed activity level: most near 0, a few above 5."""
    return min(rng.paretovariate(1.6) - 1.0, 12.0)


def generate_salesforce(
    n_leads: int,
    *,
    seed: int = 42,
    now: int | None = None,
    contact_share: float = 0.35,
    invalid_rate: float = 0.002,
    deleted_rate: float = 0.01,
    org: Org | None = None,
) -> Org:
    """An org with `n_leads` people (Leads + Contacts) and their activity history."""
    rng = random.Random(seed)
    org = org if org is not None else Org()
    now = now if now is not None else now_ms()
    campaign_ids: list[tuple[str, str, tuple[str, ...]]] = []
    for name, kind, statuses in CAMPAIGNS:
        start = now - rng.randint(20, 200) * DAY_MS
        cid = org.insert_raw(
            "Campaign",
            {
                "Name": name,
                "Type": kind,
                "Status": "In Progress",
                "IsActive": True,
                "StartDate": format_date(start),
            },
            at=start,
        )
        campaign_ids.append((cid, kind, statuses))
    accounts: dict[str, str] = {}
    people: list[tuple[str, str]] = []
    for serial in range(n_leads):
        person = fake_person(rng, serial)
        created = now - rng.randint(1, 270) * DAY_MS - rng.randint(0, DAY_MS - 1) // 1000 * 1000
        modified = min(created + rng.randint(0, 60) * DAY_MS + rng.randint(0, 86_399) * 1000, now)
        invalid = rng.random() < invalid_rate
        if rng.random() < contact_share:
            account = accounts.get(person.company)
            if account is None:
                account = accounts[person.company] = org.insert_raw(
                    "Account", _account(rng, person), at=created
                )
            values = _contact(rng, person, account)
            sobject = "Contact"
        else:
            values = _lead(rng, person)
            sobject = "Lead"
        if invalid:
            if rng.random() < 0.5:
                values["Email"] = values["Email"].replace("@", " at ")
            elif sobject == "Lead":
                values["NumberOfEmployees"] = -rng.randint(1, 50)
            else:
                values["Email"] = "n/a"
        values.update(CreatedDate=created, LastModifiedDate=modified, SystemModstamp=modified)
        record_id = org.insert_raw(sobject, values, at=created)
        people.append((sobject, record_id))
        level = _engagement(rng)
        _activity(org, rng, sobject, record_id, created, now, level, campaign_ids)
        if sobject == "Lead":
            _outcome(org, rng, record_id, person, created, now, level, accounts)
    for sobject, record_id in people:
        if rng.random() < deleted_rate:
            org.delete(sobject, record_id, at=now - rng.randint(0, 20 * DAY_MS))
    return org


def _account(rng: random.Random, person: Person) -> dict[str, Any]:
    return {
        "Name": person.company,
        "Industry": person.industry,
        "NumberOfEmployees": rng.choice((8, 25, 60, 180, 450, 1200, 5000)),
        "AnnualRevenue": rng.choice((None, 2_000_000, 15_000_000, 80_000_000, 400_000_000)),
        "BillingCountry": person.locale.country,
        "BillingState": person.locale.state,
    }


def _common(rng: random.Random, person: Person) -> dict[str, Any]:
    return {
        "FirstName": person.firstname,
        "LastName": person.lastname,
        "Title": person.jobtitle,
        "Email": person.email,
        "Phone": person.phone,
        "MobilePhone": person.phone if rng.random() < 0.3 else None,
        "LeadSource": rng.choice(LEAD_SOURCES),
        "HasOptedOutOfEmail": rng.random() < 0.04,
        "DoNotCall": rng.random() < 0.03,
        "Language__c": person.locale.language,
    }


def _lead(rng: random.Random, person: Person) -> dict[str, Any]:
    values = _common(rng, person)
    values.update(
        Company=person.company,
        Industry=person.industry,
        NumberOfEmployees=rng.choice((None, 5, 12, 40, 120, 350, 900, 2500, 10000)),
        AnnualRevenue=rng.choice((None, None, 500_000, 3_000_000, 25_000_000, 150_000_000)),
        Country=person.locale.country,
        State=person.locale.state,
        City=person.locale.city,
        Status=rng.choice(OPEN_STATUSES),
        Rating=rng.choice(RATINGS),
        IsConverted=False,
    )
    return values


def _contact(rng: random.Random, person: Person, account: str) -> dict[str, Any]:
    values = _common(rng, person)
    values.update(
        AccountId=account,
        Department=rng.choice(("Marketing", "Finance", "IT", "Sales", "Operations", None)),
        MailingCountry=person.locale.country,
        MailingState=person.locale.state,
        MailingCity=person.locale.city,
    )
    return values


def _activity(
    org: Org,
    rng: random.Random,
    sobject: str,
    who: str,
    created: int,
    now: int,
    level: float,
    campaigns: list[tuple[str, str, tuple[str, ...]]],
) -> None:
    span = max(now - created, DAY_MS)
    for _ in range(int(level * 2)):
        at = created + rng.randint(0, span)
        add_task(org, rng, who, at, now)
    for _ in range(int(level / 3)):
        start = created + rng.randint(0, span + 20 * DAY_MS)
        start -= start % (30 * 60_000)
        org.insert_raw(
            "Event",
            {
                "WhoId": who,
                "Subject": rng.choice(
                    ("Demo", "Discovery call", "Rendez-vous", "Termin vor Ort", "Follow-up meeting")
                ),
                "StartDateTime": start,
                "EndDateTime": start + 3_600_000,
                "DurationInMinutes": 60,
                "EventSubtype": "Event",
                "OwnerId": org.api_user_id,
            },
            at=min(start - DAY_MS, now) if start > now else start,
        )
    joined: set[str] = set()
    for _ in range(min(int(level), len(campaigns))):
        cid, _kind, statuses = rng.choice(campaigns)
        if cid in joined:
            continue
        joined.add(cid)
        at = created + rng.randint(0, span)
        add_member(org, rng, cid, sobject, who, statuses, at, level)


def add_task(org: Org, rng: random.Random, who: str, at: int, now: int) -> str:
    """One logged e-mail or call on `who` (completed unless scheduled in the future)."""
    subtype = rng.choices(("Email", "Call", "Task", "ListEmail"), (5, 3, 1, 2))[0]
    done = at <= now
    values: dict[str, Any] = {
        "WhoId": who,
        "TaskSubtype": subtype,
        "Status": "Completed" if done else "Not Started",
        "Priority": "Normal",
        "ActivityDate": format_date(at),
        "CompletedDateTime": at if done else None,
        "OwnerId": org.api_user_id,
    }
    if subtype in ("Email", "ListEmail"):
        reply = subtype == "Email" and rng.random() < 0.25
        values["Subject"] = ("RE: " if reply else "Email: ") + rng.choice(
            ("Offre", "Angebot", "Proposta", "Pricing", "Follow-up")
        )
    elif subtype == "Call":
        values.update(
            Subject="Call",
            CallType="Outbound",
            CallDisposition=rng.choice(CALL_DISPOSITIONS),
            CallDurationInSeconds=rng.randint(20, 1800),
        )
    else:
        values["Subject"] = rng.choice(("Send brochure", "Prepare quote", "Relance"))
    return org.insert_raw("Task", values, at=at)


def add_member(
    org: Org,
    rng: random.Random,
    campaign: str,
    sobject: str,
    who: str,
    statuses: tuple[str, ...],
    at: int,
    level: float,
) -> str:
    """A campaign membership; livelier people reach the later (responded) statuses."""
    reach = min(len(statuses) - 1, int(rng.random() * (1 + level)))
    status = statuses[reach]
    responded = status in RESPONDED
    values: dict[str, Any] = {
        "CampaignId": campaign,
        "LeadId": who if sobject == "Lead" else None,
        "ContactId": who if sobject == "Contact" else None,
        "Status": status,
        "HasResponded": responded,
        "FirstRespondedDate": format_date(at) if responded else None,
    }
    return org.insert_raw("CampaignMember", values, at=at)


def _outcome(
    org: Org,
    rng: random.Random,
    lead_id: str,
    person: Person,
    created: int,
    now: int,
    level: float,
    accounts: dict[str, str],
) -> None:
    roll = rng.random()
    won_p = 0.03 + 0.02 * min(level, 5)
    if roll < won_p:
        at = min(created + rng.randint(7, 120) * DAY_MS, now)
        account = accounts.get(person.company) or org.insert_raw(
            "Account", _account(rng, person), at=at
        )
        accounts.setdefault(person.company, account)
        lead = org.records["Lead"][lead_id]
        contact_values = {
            k: lead[k]
            for k in (
                "FirstName",
                "LastName",
                "Title",
                "Email",
                "Phone",
                "LeadSource",
                "Language__c",
            )
        }
        contact_values.update(
            AccountId=account,
            MailingCountry=lead["Country"],
            MailingState=lead["State"],
            MailingCity=lead["City"],
        )
        contact = org.insert_raw("Contact", contact_values, at=at)
        lead.update(
            IsConverted=True,
            ConvertedDate=format_date(at),
            ConvertedContactId=contact,
            Status="Closed - Converted",
        )
        org.touch("Lead", lead_id, at)
    elif roll < won_p + 0.08:
        at = min(created + rng.randint(5, 90) * DAY_MS, now)
        org.records["Lead"][lead_id]["Status"] = "Closed - Not Converted"
        org.touch("Lead", lead_id, at)


def mutate_org(org: Org, fraction: float, *, seed: int) -> list[str]:
    """Edit ~`fraction` of live leads and contacts and log an activity on each."""
    rng = random.Random(seed)
    now = org.clock()
    candidates = [
        (sobject, row["Id"])
        for sobject in ("Lead", "Contact")
        for row in org.rows(sobject)
        if not (sobject == "Lead" and row.get("IsConverted"))
    ]
    chosen = [c for c in candidates if rng.random() < fraction]
    for sobject, record_id in chosen:
        with org.lock:
            record = org.records[sobject][record_id]
            record["Title"] = rng.choice(
                (
                    "CEO",
                    "Head of Sales",
                    "CFO",
                    "Directeur financier",
                    "Leiter Marketing",
                    "Responsabile IT",
                )
            )
            org.touch(sobject, record_id, now)
        add_task(org, rng, record_id, now, now)
    return [record_id for _, record_id in chosen]


def add_same_timestamp(org: Org, n: int, stamp: int, *, seed: int = 0) -> list[str]:
    """`n` new leads all modified at exactly `stamp` (the tie-break case)."""
    rng = random.Random(seed)
    ids = []
    for serial in range(n):
        person = fake_person(rng, 1_000_000 + seed * 10_000 + serial)
        values = _lead(rng, person)
        values.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        ids.append(org.insert_raw("Lead", values, at=stamp))
    return ids
