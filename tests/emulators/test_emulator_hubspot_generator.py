from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from leadbridge.emulators.hubspot import generate_portal
from leadbridge.emulators.hubspot.properties import check_value

NOW = datetime(2026, 1, 15, tzinfo=UTC)


def test_generator_is_deterministic_and_realistic():
    a = generate_portal(1200, seed=5, now=NOW)
    b = generate_portal(1200, seed=5, now=NOW)
    assert [r.properties for r in a.contacts.records.values()] == [
        r.properties for r in b.contacts.records.values()
    ]
    assert [e.id for e in a.events.events] == [e.id for e in b.events.events]
    assert [
        r.properties for r in generate_portal(50, seed=6, now=NOW).contacts.records.values()
    ] != [r.properties for r in list(a.contacts.records.values())[:50]]
    contacts = list(a.contacts.records.values())
    swiss = [c for c in contacts if c.properties.get("country") == "Switzerland"]
    assert len(swiss) > len(contacts) / 2
    assert {"Vaud", "Zürich", "Ticino"} <= {c.properties["state"] for c in swiss}
    assert {c.properties["hs_language"] for c in contacts} == {"fr", "de", "it", "en"}
    assert any(c.properties.get("phone", "").startswith("+41 ") for c in swiss)
    events_per_lead = len(a.events) / len(contacts)
    engagements_per_lead = sum(len(s.records) for s in a.engagements.values()) / len(contacts)
    assert 5 <= events_per_lead <= 8
    assert 1 <= engagements_per_lead <= 2
    views = Counter(c.properties["hs_analytics_num_page_views"] for c in contacts)
    assert views["0"] > 100
    assert any(int(v) >= 10 for v in views)
    start, end = NOW.timestamp() * 1000 - 6 * 31 * 86_400_000, NOW.timestamp() * 1000
    assert all(start <= c.created_ms <= c.updated_ms <= end for c in contacts)
    urls = {
        e.properties.get("hs_url", "") for e in a.events.events if e.event_type == "e_visited_page"
    }
    assert any("/pricing" in u for u in urls)
    assert any("/buy" in u for u in urls)
    assert any("/blog/" in u for u in urls)
    invalid = [
        c
        for c in contacts
        if any(
            check_value(a.properties[name], c.properties[name])[0] is None
            for name in ("numemployees",)
            if name in c.properties
        )
        or "@" not in c.properties["email"]
        or "@@" in c.properties["email"]
        or " " in c.properties["email"]
        or not any(ch.isdigit() for ch in c.properties.get("phone", "0"))
        or "ABC" in c.properties.get("phone", "")
    ]
    assert 1 <= len(invalid) <= 6
    assert sum(r.archived for r in contacts) >= 3
    assert any(c.properties.get("hs_email_optout") == "true" for c in contacts)


def test_same_timestamp_helper():
    portal = generate_portal(10, seed=1, now=NOW)
    ids = portal.add_contacts_same_timestamp(500, 1_700_000_000_000)
    assert len(ids) == 500
    assert len(set(ids)) == 500
    stamps = {portal.contacts.records[int(i)].properties["lastmodifieddate"] for i in ids}
    assert stamps == {"2023-11-14T22:13:20.000Z"}
