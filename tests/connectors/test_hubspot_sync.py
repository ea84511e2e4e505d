"""HubSpot connector reads against the real emulator over HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.crm.contacts.models import CollectionResponseWithTotalSimplePublicObjectForwardPaging

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.sdk_transport import OpenApiRestAdapter
from leadbridge.core.models import Bookmark, Page
from leadbridge.core.protocols import Connector, SupportsWriteBack
from leadbridge.core.vocabulary import KINDS
from leadbridge.emulators.common.timefmt import now_ms
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal

GENERATED_AT = datetime.now(UTC) - timedelta(days=1)


def _connector(hs: HubSpotEmulator, **extra: object) -> HubSpotConnector:
    settings = {
        "base_url": hs.base_url,
        "auth": {"kind": "private_app", "token": hs.private_app_token},
        "budgets": {"default": (100, 10.0), "search": (20, 1.0)},
        "events_page_size": 500,
        **extra,
    }
    return HubSpotConnector.from_mapping(settings)


def _read(connector: HubSpotConnector, stream: str, since: Bookmark | None = None) -> list[Page]:
    return list(connector.read(stream, since))


@pytest.fixture(scope="module")
def hs():
    limits = HubSpotLimits(search_per_s=20)
    with HubSpotEmulator(generate_portal(400, seed=7, now=GENERATED_AT), limits=limits) as emu:
        yield emu


def test_protocols_and_stream_order(hs):
    connector = _connector(hs)
    try:
        assert isinstance(connector, Connector)
        assert isinstance(connector, SupportsWriteBack)
        assert list(connector.streams()) == ["contacts", "events", "engagements", "archived"]
        connector.check()
    finally:
        connector.close()


def test_full_pull_equals_the_portal(hs):
    connector = _connector(hs)
    try:
        pages = _read(connector, "contacts")
        leads = {lead.source_ids["hubspot"]: lead for p in pages for lead in p.leads}
        rejected = {r.record_id for p in pages for r in p.rejects}
        live = {str(i) for i in hs.portal.contacts.by_id}
        assert set(leads) | rejected == live
        assert not set(leads) & rejected
        assert len(leads) + len(rejected) == sum(len(p.leads) + len(p.rejects) for p in pages)
        for contact_id, lead in list(leads.items())[:50]:
            props = hs.portal.contacts.records[int(contact_id)].properties
            assert lead.key == f"hubspot:{contact_id}"
            assert lead.email == props.get("email")
            assert lead.company == props.get("company")
            assert lead.country == props.get("country")
            assert lead.region == props.get("state")
            assert lead.lifecycle_stage == props.get("lifecyclestage")
            assert lead.updated_at is not None
            assert lead.updated_at.tzinfo is not None
        # every page carries a bookmark that never goes backwards
        marks = [p.bookmark for p in pages]
        assert all(m is not None and m.cursor_field == "lastmodifieddate" for m in marks)
        values = [m.value for m in marks if m is not None]
        assert values == sorted(values)
        last = pages[-1].bookmark
        assert last is not None
        assert last.tiebreak_id in leads
    finally:
        connector.close()


def test_events_and_engagements_map_to_canonical_kinds(hs):
    connector = _connector(hs)
    try:
        events = [a for p in _read(connector, "events") for a in p.activities]
        assert len(events) == len(hs.portal.events.events)  # every generated event is scored
        kinds = Counter(a.kind for a in events)
        assert set(kinds) <= set(KINDS)
        assert kinds["page_view:pricing"] > 0
        assert kinds["email_open"] > 0
        assert kinds["cta_click:buy"] > 0
        assert kinds["form_submit"] > 0
        assert all(a.lead_key.startswith("hubspot:") for a in events)
        assert len({a.source_id for a in events}) == len(events)

        pages = _read(connector, "engagements")
        engagements = [a for p in pages for a in p.activities]
        kinds = Counter(a.kind for a in engagements)
        assert {"email_sent", "call_completed", "note"} <= set(kinds)
        assert kinds["call_refused"] > 0  # learnt from the portal's outcome labels
        stores = hs.portal.engagements
        assert kinds["note"] == len(stores["notes"].by_id)
        for activity in engagements[:30]:
            object_type, engagement_id = activity.source_id.split(":")
            linked = hs.portal.associations.targets(object_type, "contacts", int(engagement_id))
            assert activity.lead_key in {f"hubspot:{c}" for c in linked}
        assert pages[-1].bookmark is not None
    finally:
        connector.close()


def test_incremental_pull_returns_changes_plus_overlap(hs):
    connector = _connector(hs)
    try:
        pages = _read(connector, "contacts")
        mark = pages[-1].bookmark
        assert mark is not None
        changed = set(hs.mutate(0.05, seed=3))
        again = _read(connector, "contacts", mark)
        got = {r.record_id for p in again for r in p.rejects} | {
            lead.source_ids["hubspot"] for p in again for lead in p.leads
        }
        floor = int(mark.value.timestamp() * 1000) - 120_000
        in_overlap = {
            str(i) for i, r in hs.portal.contacts.records.items()
            if not r.archived and r.updated_ms >= floor
        }  # fmt: skip
        assert changed <= got
        assert got == in_overlap
        assert len(got) < len(hs.portal.contacts.by_id) // 2
        after = again[-1].bookmark
        assert after is not None
        assert after.value > mark.value
        # nothing changed since: only the overlap window comes back
        tail = _read(connector, "contacts", after)
        tail_ids = {lead.source_ids["hubspot"] for p in tail for lead in p.leads}
        assert changed & tail_ids == changed  # all touched in the last 120 s
    finally:
        connector.close()


def test_incremental_events_and_engagements(hs):
    connector = _connector(hs)
    try:
        events_mark = _read(connector, "events")[-1].bookmark
        full = _read(connector, "engagements")
        engagements_mark = full[-1].bookmark
        full_count = sum(len(p.activities) for p in full)
        assert events_mark is not None
        assert engagements_mark is not None
        total_events = len(hs.portal.events.events)
        changed = set(hs.mutate(0.05, seed=8))
        new_events = [a for p in _read(connector, "events", events_mark) for a in p.activities]
        assert {a.lead_key for a in new_events} >= {f"hubspot:{c}" for c in changed}
        assert len(new_events) < total_events // 4
        notes = [a for p in _read(connector, "engagements", engagements_mark) for a in p.activities]
        fresh_notes = {
            f"notes:{i}" for i, r in hs.portal.engagements["notes"].records.items()
            if r.updated_ms >= int(engagements_mark.value.timestamp() * 1000)
        }  # fmt: skip
        assert fresh_notes <= {a.source_id for a in notes}
        assert len(notes) < full_count // 4
    finally:
        connector.close()


def test_archived_contacts_detected_since_bookmark(hs):
    connector = _connector(hs)
    try:
        first = _read(connector, "archived")
        archived = {str(i) for i, r in hs.portal.contacts.records.items() if r.archived}
        assert {d for p in first for d in p.deleted} == archived
        mark = first[-1].bookmark
        assert mark is not None
        assert mark.cursor_field == "archivedAt"
        victim = hs.portal.contacts.records[hs.portal.contacts.by_id[5]]
        hs.portal.archive_contact(victim, now_ms())
        later = _read(connector, "archived", mark)
        floor = int(mark.value.timestamp() * 1000) - 120_000  # inclusive cursor + overlap
        recent = {
            str(i) for i, r in hs.portal.contacts.records.items()
            if r.archived_ms is not None and r.archived_ms >= floor
        }  # fmt: skip
        assert {d for p in later for d in p.deleted} == recent
        assert str(victim.id) in recent
        assert archived - recent
        contacts = _read(connector, "contacts")
        assert str(victim.id) not in {
            lead.source_ids["hubspot"] for p in contacts for lead in p.leads
        }
    finally:
        connector.close()


def test_official_sdk_is_used_through_our_http_layer(hs):
    connector = _connector(hs)
    try:
        search_api = connector.api.api(
            "read", "contacts_search", lambda c: c.crm.contacts.search_api
        )
        assert type(search_api).__module__ == "hubspot.crm.contacts.api.search_api"
        assert isinstance(search_api.api_client.rest_client, OpenApiRestAdapter)
        before = connector.calls()["read"]
        ledger_before = hs.ledger.counts().get("POST /crm/v3/objects/contacts/search", 0)
        response = connector.api.call("probe", lambda: search_api.do_search(
            public_object_search_request={"limit": 3, "properties": ["email"]}
        ))  # fmt: skip
        assert isinstance(response, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
        assert len(response.results) == 3
        assert response.results[0].properties["email"]
        assert connector.calls()["read"] == before + 1
        assert hs.ledger.counts()["POST /crm/v3/objects/contacts/search"] == ledger_before + 1
    finally:
        connector.close()


def test_call_accounting_matches_minimum_on_a_clean_pull(hs):
    connector = _connector(hs, activity_source="events")
    try:
        for stream in connector.streams():
            _read(connector, stream)
        calls, minimum = connector.calls(), connector.min_calls()
        assert calls["read"] == minimum["read"]
        assert calls["write"] == minimum["write"] == 0
        assert sum(hs.ledger.counts().values()) > 0
    finally:
        connector.close()


def test_rollups_when_the_events_api_is_refused():
    limits = HubSpotLimits(events_api=False, search_per_s=20)
    with HubSpotEmulator(generate_portal(60, seed=11, now=GENERATED_AT), limits=limits) as emu:
        connector = _connector(emu)  # activity_source="auto"
        try:
            pages = _read(connector, "contacts")
            rollups = [a for p in pages for a in p.activities]
            assert rollups, "rollup counters become activities"
            assert {a.kind for a in rollups} <= set(KINDS)
            assert all(a.source_id and a.source_id.startswith("rollup:") for a in rollups)
            assert len({(a.lead_key, a.source_id) for a in rollups}) == len(rollups)
            views = next(
                a for a in rollups if a.attributes["rollup"] == "hs_analytics_num_page_views"
            )
            contact = emu.portal.contacts.records[int(views.lead_key.split(":")[1])]
            assert views.count == int(contact.properties["hs_analytics_num_page_views"])
            events = _read(connector, "events")
            assert [p.activities for p in events] == [()]
            assert emu.ledger.statuses().get(403) == 1  # one probe, then no more tries
        finally:
            connector.close()


def test_more_than_the_cap_sharing_one_timestamp_come_back_exactly_once():
    limits = HubSpotLimits(search_max_results=1000, search_per_s=50)
    portal = generate_portal(40, seed=5, now=GENERATED_AT)
    tied = set(portal.add_contacts_same_timestamp(2300, now_ms()))
    with HubSpotEmulator(portal, limits=limits) as emu:
        connector = _connector(
            emu, search_max_results=1000, budgets={"default": (100, 10.0), "search": (50, 1.0)}
        )
        try:
            pages = _read(connector, "contacts")
            ids = [lead.source_ids["hubspot"] for p in pages for lead in p.leads]
            ids += [r.record_id or "" for p in pages for r in p.rejects]
            assert len(ids) == len(set(ids))
            assert set(ids) == {str(i) for i in emu.portal.contacts.by_id}
            assert tied <= set(ids)
            assert 400 not in emu.ledger.statuses()  # never paged past the cap
        finally:
            connector.close()


def test_unmappable_records_become_rejects_and_the_sync_continues(hs):
    contacts = hs.portal.contacts
    bad_email = contacts.records[contacts.by_id[10]]
    bad_size = contacts.records[contacts.by_id[11]]
    hs.portal.update_contact(bad_email, {"email": "ana at example.ch"})
    hs.portal.update_contact(bad_size, {"numemployees": "beaucoup"})
    connector = _connector(hs)
    try:
        pages = _read(connector, "contacts")
        rejects = {r.record_id: r for p in pages for r in p.rejects}
        assert "email" in rejects[str(bad_email.id)].reason
        assert "numemployees" in rejects[str(bad_size.id)].reason
        assert "beaucoup" in rejects[str(bad_size.id)].payload
        assert all("\n" not in r.reason and len(r.payload) <= 2001 for r in rejects.values())
        leads = {lead.source_ids["hubspot"] for p in pages for lead in p.leads}
        assert len(leads) + len(rejects) == len(contacts.by_id)
    finally:
        connector.close()
