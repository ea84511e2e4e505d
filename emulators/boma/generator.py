"""Seeded, realistic BOMA accounts: mortgage leads, months of activity, dossiers, messages.

Leads fall into engagement tiers (cold 55 %, warm 28 %, hot 12 %, very hot 5 %) that drive
how often they run the loan simulator, read the rates page, download guides, answer
calls, and whether their file reaches a dossier (``Instruction``, then ``Accord`` or
``Refusée``, seed 000), so scores and outcomes come out mixed. Every 500th lead and every
500th activity (0.2 %) is deliberately invalid (malformed e-mail, an amount typed in
words, an activity without lead or with an impossible date); every 331st lead is deleted.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import TypeVar

from leadbridge.emulators.boma.store import ActivityRow, BomaStore, LeadRow, MessageRow
from leadbridge.emulators.common.fakedata import fake_person
from leadbridge.emulators.common.timefmt import now_ms, to_ms

__all__ = ["add_same_timestamp", "generate_boma", "mutate_boma"]

T = TypeVar("T")

DAY_MS = 86_400_000
MINUTE_MS = 60_000
FIRST_LEAD_ID = 100_001

TIERS: tuple[tuple[str, float], ...] = (
    ("cold", 0.55),
    ("warm", 0.28),
    ("hot", 0.12),
    ("very_hot", 0.05),
)
ACTIVITY_COUNTS = {"cold": (0, 3), "warm": (3, 8), "hot": (7, 14), "very_hot": (12, 22)}
ACTIVITY_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    "cold": (("page_view", 0.7), ("email_open", 0.25), ("document_download", 0.05)),
    "warm": (
        ("page_view", 0.45),
        ("email_open", 0.2),
        ("email_click", 0.1),
        ("simulator_run", 0.15),
        ("document_download", 0.1),
    ),
    "hot": (
        ("page_view", 0.3),
        ("simulator_run", 0.25),
        ("email_click", 0.1),
        ("document_download", 0.12),
        ("form_submit", 0.1),
        ("call", 0.1),
        ("meeting_request", 0.03),
    ),
    "very_hot": (
        ("page_view", 0.25),
        ("simulator_run", 0.25),
        ("document_download", 0.1),
        ("form_submit", 0.12),
        ("call", 0.18),
        ("meeting_request", 0.1),
    ),
}
PAGES: tuple[tuple[str, float], ...] = (
    ("home", 0.3),
    ("rates", 0.3),
    ("blog", 0.2),
    ("simulator", 0.1),
    ("contact", 0.1),
)
DOCUMENTS = (
    "guide-achat-premiere-maison.pdf",
    "checklist-dossier-hypothecaire.pdf",
    "taux-hypothecaires-2026.pdf",
    "ratgeber-eigenheim.pdf",
)
JOB_STATUSES: dict[str, tuple[tuple[str | None, float], ...]] = {
    "cold": (("CDI", 0.3), ("CDD", 0.2), ("indépendant", 0.1), (None, 0.4)),
    "warm": (("CDI", 0.5), ("CDD", 0.15), ("indépendant", 0.15), (None, 0.2)),
    "hot": (("CDI", 0.6), ("fonctionnaire", 0.2), ("indépendant", 0.15), ("CDD", 0.05)),
    "very_hot": (("CDI", 0.55), ("fonctionnaire", 0.35), ("indépendant", 0.1)),
}
PROJECTS = (
    ("achat_residence_principale", 0.6),
    ("achat_residence_secondaire", 0.1),
    ("refinancement", 0.2),
    ("investissement_locatif", 0.1),
)
SOURCES = (
    ("Website", 0.4),
    ("Simulateur", 0.25),
    ("Whatsapp_Business", 0.15),
    ("Comparis", 0.12),
    ("Recommandation", 0.08),
)
COUNTRY_CODES = {
    "Switzerland": "CH",
    "France": "FR",
    "Germany": "DE",
    "Italy": "IT",
    "United Kingdom": "GB",
    "United States": "US",
}
MESSAGES = (
    (
        "Bonjour, je voudrais des infos pour un prêt première maison, je suis infirmier",
        {
            "job_type": "infirmier",
            "job_category": "fonction_publique",
            "intent": "achat_residence_principale",
        },
    ),
    (
        "Guten Tag, wir suchen eine Hypothek für 800'000 CHF, Festanstellung",
        {"requested_amount": 800000, "job_category": "cdi", "intent": "achat"},
    ),
    (
        "Buongiorno, vorrei rinegoziare il mio mutuo, sono indipendente",
        {"job_category": "independant", "intent": "refinancement"},
    ),
)


def _weighted(rng: random.Random, table: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _activity_data(rng: random.Random, kind: str, lead: LeadRow) -> dict[str, object]:
    if kind == "page_view":
        page = _weighted(rng, PAGES)
        seconds = rng.randint(20, 420) if page == "rates" else rng.randint(5, 180)
        return {"page": page, "seconds": seconds}
    if kind == "simulator_run":
        amount = (
            lead.requested_amount
            if isinstance(lead.requested_amount, int)
            else rng.randrange(250_000, 1_200_000, 5000)
        )
        value = lead.property_value or int(amount / rng.uniform(0.6, 0.98))
        jitter = rng.choice((0.9, 0.95, 1.0, 1.0, 1.05))
        return {"requested_amount": int(amount * jitter), "property_value": value}
    if kind == "document_download":
        return {"document": rng.choice(DOCUMENTS)}
    if kind in ("email_open", "email_click"):
        return {"campaign": rng.choice(("taux-mars", "newsletter-fr", "webinar-achat"))}
    if kind == "form_submit":
        return {"form": rng.choice(("demande_devis", "rappel", "contact"))}
    if kind == "call":
        result = rng.choices(("completed", "no_answer", "refused"), weights=(0.6, 0.3, 0.1))[0]
        return {
            "result": result,
            "duration_s": rng.randint(60, 900) if result == "completed" else 0,
        }
    return {}


def generate_boma(
    n_leads: int,
    *,
    seed: int = 42,
    now: datetime | None = None,
    months: int = 6,
    invalid_every: int = 500,
    delete_every: int = 331,
) -> BomaStore:
    """A deterministic account of `n_leads` leads with activity, dossiers and messages."""
    rng = random.Random(seed)
    now_at = to_ms(now) if now is not None else now_ms()
    span = months * 30 * DAY_MS
    store = BomaStore()
    activity_id = 5000
    message_id = 900_000
    for i in range(n_leads):
        person = fake_person(rng, i)
        tier = _weighted(rng, TIERS)
        created = now_at - rng.randint(DAY_MS, span)
        base = rng.randrange(200_000, 1_500_000, 5000)
        amount: int | str | None = base
        value: int | None = int(base / rng.uniform(0.55, 0.99))
        if tier == "cold" and rng.random() < 0.4:
            amount, value = None, None
        lead = LeadRow(
            lead_id=FIRST_LEAD_ID + i,
            first_name=person.firstname,
            last_name=person.lastname,
            email=person.email,
            phone=person.phone,
            language=person.locale.language,
            canton=person.locale.state,
            country=COUNTRY_CODES[person.locale.country],
            job_status=_weighted(rng, JOB_STATUSES[tier]),
            requested_amount=amount,
            property_value=value,
            project_type=_weighted(rng, PROJECTS),
            source=_weighted(rng, SOURCES),
            marketing_consent=rng.random() < 0.8,
            created_ms=created,
            updated_ms=created + rng.randint(0, max(1, (now_at - created) // 2)),
            custom={f["key"]: None for f in store.custom_fields},
        )
        if invalid_every and i % invalid_every == invalid_every - 1:
            if (i // invalid_every) % 2 == 0:
                lead.email = lead.email.replace("@", "[at]")
            else:
                lead.requested_amount = "deux cent mille"
        dossier_chance = {"cold": 0.02, "warm": 0.15, "hot": 0.6, "very_hot": 0.8}[tier]
        if rng.random() < dossier_chance:
            granted = 0.5 if tier == "very_hot" else 0.3
            lead.dossier_status = rng.choices(
                ("Instruction", "Accord", "Refusée"), weights=(0.45, granted, 0.55 - granted)
            )[0]
            lead.dossier_ms = rng.randint(created, now_at)
            lead.updated_ms = max(lead.updated_ms, lead.dossier_ms)
        store.add_lead(lead)
        low, high = ACTIVITY_COUNTS[tier]
        for _ in range(rng.randint(low, high)):
            activity_id += 1
            kind = _weighted(rng, ACTIVITY_WEIGHTS[tier])
            occurred = rng.randint(created, now_at)
            row = ActivityRow(
                activity_id=activity_id,
                lead_id=lead.lead_id,
                type=kind,
                occurred_ms=occurred,
                recorded_ms=min(now_at, occurred + rng.randint(0, 5 * MINUTE_MS)),
                data=_activity_data(rng, kind, lead),
            )
            if invalid_every and activity_id % invalid_every == 0:
                if (activity_id // invalid_every) % 2 == 0:
                    row.lead_id = None
                else:
                    row.occurred_raw = "31/02/2026 14:00"
            store.add_activity(row)
        if lead.source == "Whatsapp_Business" or rng.random() < 0.03:
            text, extracted = rng.choice(MESSAGES)
            message_id += 1
            store.add_message(
                MessageRow(
                    message_id=message_id,
                    lead_id=str(lead.lead_id),
                    lead_source=lead.source if lead.source == "Whatsapp_Business" else "Web_Chat",
                    message_body=text,
                    extracted_data=dict(extracted),
                    ai_score=rng.randint(20, 95),
                    routing_action=rng.choice(("assign_to_human", "nurturing_bot")),
                    received_ms=rng.randint(created, now_at),
                )
            )
        if delete_every and i % delete_every == delete_every - 1:
            store.delete_lead(lead.lead_id, rng.randint(lead.updated_ms, now_at))
    return store


def mutate_boma(store: BomaStore, fraction: float, *, seed: int) -> list[str]:
    """Edit ~`fraction` of leads (a field or the dossier, plus one activity), bumping them."""
    rng = random.Random(seed)
    with store.lock:
        live = sorted(store.leads)
        if not live or fraction <= 0:
            return []
        chosen = sorted(rng.sample(live, max(1, min(len(live), round(fraction * len(live))))))
        for lead_id in chosen:
            lead = store.leads[lead_id]
            at = now_ms()
            if lead.dossier_status == "Instruction" and rng.random() < 0.5:
                lead.dossier_status = rng.choice(("Accord", "Refusée"))
                lead.dossier_ms = at
            elif lead.dossier_status is None and rng.random() < 0.2:
                lead.dossier_status = "Instruction"
                lead.dossier_ms = at
            else:
                lead.job_status = rng.choice(("CDI", "fonctionnaire", "indépendant", "CDD"))
            kind = rng.choice(("page_view", "simulator_run"))
            store.add_activity(
                ActivityRow(
                    activity_id=store.next_activity_id(),
                    lead_id=lead_id,
                    type=kind,
                    occurred_ms=at,
                    recorded_ms=at,
                    data=_activity_data(rng, kind, lead),
                )
            )
            store.touch(lead, at)
        return [str(i) for i in chosen]


def add_same_timestamp(store: BomaStore, n: int, ts: int, *, seed: int = 0) -> list[str]:
    """Add `n` leads all modified at `ts` (bulk imports stamp thousands of rows alike)."""
    rng = random.Random(seed)
    with store.lock:
        first = max(store.leads, default=FIRST_LEAD_ID - 1) + 1
        first = max(first, max((d.lead_id for d in store.deletions), default=0) + 1)
        ids = []
        for offset in range(n):
            person = fake_person(rng, first + offset)
            store.add_lead(
                LeadRow(
                    lead_id=first + offset,
                    first_name=person.firstname,
                    last_name=person.lastname,
                    email=person.email,
                    phone=person.phone,
                    language=person.locale.language,
                    canton=person.locale.state,
                    country=COUNTRY_CODES[person.locale.country],
                    job_status="CDI",
                    requested_amount=500_000,
                    property_value=650_000,
                    project_type="achat_residence_principale",
                    source="Import",
                    marketing_consent=True,
                    created_ms=ts,
                    updated_ms=ts,
                    custom={f["key"]: None for f in store.custom_fields},
                )
            )
            ids.append(str(first + offset))
        return ids
