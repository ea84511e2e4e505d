"""Identity resolution: normalised keys, union-find merges, lineage and conflicts."""

from __future__ import annotations

from leadbridge.core.models import Lead
from leadbridge.scoring.identity import (
    IdentifierKind,
    IdentityGraph,
    identifiers_of_lead,
    normalize_identifier,
)

K = IdentifierKind


def ident(kind, raw):
    found = normalize_identifier(kind, raw)
    assert found is not None
    return found


def test_normalisation():
    assert str(ident(K.EMAIL, "  Ana.Muster@Example.CH ")) == "email:ana.muster@example.ch"
    assert str(ident(K.PHONE, "079 123 45 67")) == "phone:+41791234567"
    assert ident(K.PHONE, "+41 (0)79 123 45 67") == ident(K.PHONE, "0041791234567")
    assert str(ident(K.CRM, "HubSpot:42")) == "crm:hubspot:42"
    assert normalize_identifier(K.PHONE, "12") is None
    assert normalize_identifier(K.EMAIL, "not-an-email") is None
    assert normalize_identifier(K.CRM, "42") is None
    assert normalize_identifier(K.COOKIE, "  ") is None


def test_anonymous_visitor_newsletter_webinar_linkedin_become_one_person(act):
    graph = IdentityGraph()
    activities = [
        act("page_view:pricing", lead="web:anon", attributes={"cookie_id": "ck-1"}),
        act("form_submit", lead="web:anon", attributes={"cookie_id": "ck-1", "email": "Ana@X.ch"}),
        act("webinar_attended", lead="zoom:77", attributes={"email": "ana@x.ch"}),
        act(
            "social_message",
            lead="li:anon",
            attributes={"social_id": "linkedin:ana-m", "email": "ANA@x.ch"},
        ),
        act("page_view:home", lead="web:other", attributes={"cookie_id": "ck-2"}),
    ]
    grouped = graph.group_activities(activities)
    assert len(grouped) == 2
    big = max(grouped.values(), key=len)
    assert len(big) == 4
    assert len({a.lead_key for a in big}) == 1
    person = graph.person_of(ident(K.COOKIE, "ck-1"))
    assert person is not None
    assert ident(K.SOCIAL, "linkedin:ana-m") in person.identifiers
    assert len(person.lineage) >= 3
    assert all(m.evidence for m in person.lineage)


def test_two_crm_ids_claiming_one_email_are_reported_not_merged():
    graph = IdentityGraph()
    assert graph.add_leads([Lead(key="hubspot:1", email="ana@x.ch", phone="+41791234567")]) == []
    conflicts = graph.add_leads([Lead(key="hubspot:2", email="ANA@x.ch")])
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict.system == "hubspot"
    assert set(conflict.ids) == {"hubspot:1", "hubspot:2"}
    assert "not merged" in str(conflict)
    people = {p.id for p in graph.persons()}
    assert {"hubspot:1", "hubspot:2"} <= people
    assert graph.conflicts == conflicts


def test_same_person_in_two_crms_merges_with_both_ids():
    graph = IdentityGraph()
    graph.add_leads(
        [
            Lead(key="hubspot:1", email="ana@x.ch"),
            Lead(key="salesforce:00Q1", source_ids={"salesforce": "00Q1"}, phone="079 123 45 67"),
            Lead(key="pipedrive:9", email="ana@x.ch", phone="+41791234567"),
        ]
    )
    (person,) = graph.persons()
    assert dict(person.crm_ids) == {
        "hubspot": "hubspot:1",
        "pipedrive": "pipedrive:9",
        "salesforce": "salesforce:00Q1",
    }
    assert person.id == "hubspot:1"


def test_identifiers_of_lead_skips_invalid_values():
    lead = Lead(key="hubspot:5", email="bad", phone="123")
    assert [str(i) for i in identifiers_of_lead(lead)] == ["crm:hubspot:5"]
