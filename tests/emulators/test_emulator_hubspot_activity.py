from __future__ import annotations

import httpx

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal

TOKEN = "pat-na1-emulator-token"


def test_events_paging_filters_and_sort(hs, api, spec):
    contact = max(hs.portal.events.by_object, key=lambda k: len(hs.portal.events.by_object[k]))
    expected = [e.id for e in hs.portal.events.by_object[contact]]
    got, after = [], None
    while True:
        params = {"objectType": "contact", "objectId": contact, "limit": 2, "sort": "ASCENDING"}
        if after:
            params["after"] = after
        doc = api.get("/events/v3/events", params=params).json()
        spec.validate("events-v3/events.json", "CollectionResponseExternalUnifiedEvent", doc)
        got += [e["id"] for e in doc["results"]]
        if "paging" not in doc:
            break
        after = doc["paging"]["next"]["after"]
    assert got == expected
    views = api.get(
        "/events/v3/events", params={"eventType": "e_visited_page", "limit": 1000}
    ).json()["results"]
    assert views
    assert all(
        v["eventType"] == "e_visited_page" and v["properties"]["hs_url"].startswith("https://")
        for v in views
    )
    stamps = [v["occurredAt"] for v in views]
    assert stamps == sorted(stamps, reverse=True)
    pivot = stamps[len(stamps) // 2]
    later = api.get(
        "/events/v3/events",
        params={"eventType": "e_visited_page", "occurredAfter": pivot, "limit": 1000},
    ).json()
    assert all(e["occurredAt"] >= pivot for e in later["results"])
    assert len(later["results"]) < len(views)
    kinds = {e.event_type for e in hs.portal.events.events}
    assert {
        "e_visited_page",
        "e_opened_marketing_email",
        "e_clicked_marketing_email",
        "e_submitted_form",
    } <= kinds
    types = api.get("/events/v3/events/event-types").json()["eventTypes"]
    assert "e_visited_page" in types
    assert any(t.startswith("pe") for t in types)


def test_events_api_forbidden_below_enterprise():
    limits = HubSpotLimits(events_api=False)
    with (
        HubSpotEmulator(generate_portal(10, seed=1), limits=limits) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
    ):
        r = api.get("/events/v3/events", params={"objectType": "contact"})
        assert r.status_code == 403
        assert r.json()["status"] == "error"


def test_association_batch_read_engagements_to_contacts(hs, api, spec):
    emails = list(hs.portal.engagements["emails"].by_id[:5])
    body = {"inputs": [{"id": str(i)} for i in emails]}
    r = api.post("/crm/v4/associations/emails/contacts/batch/read", json=body)
    assert r.status_code == 200
    doc = r.json()
    spec.validate(
        "crm-associations-v4/associations.json", "BatchResponsePublicAssociationMultiWithLabel", doc
    )
    for row in doc["results"]:
        assert row["to"][0]["associationTypes"][0]["typeId"] == 198
        contact = int(row["to"][0]["toObjectId"])
        assert int(row["from"]["id"]) in hs.portal.associations.from_contacts["emails"][contact]
    partial = api.post(
        "/crm/v4/associations/calls/contacts/batch/read", json={"inputs": [{"id": "1"}]}
    )
    assert partial.status_code == 207
    spec.validate(
        "crm-associations-v4/associations.json",
        "BatchResponsePublicAssociationMultiWithLabelWithErrors",
        partial.json(),
    )
    too_many = api.post(
        "/crm/v4/associations/notes/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(1001)]},
    )
    assert too_many.status_code == 400
    assert (
        api.post("/crm/v4/associations/widgets/contacts/batch/read", json=body).status_code == 400
    )


def test_mutate_bumps_timestamps_and_adds_activity(hs, api):
    before = {i: r.updated_ms for i, r in hs.portal.contacts.records.items()}
    events_before = len(hs.portal.events)
    ids = hs.mutate(0.05, seed=1)
    assert len(ids) == round(0.05 * len(hs.portal.contacts))
    assert all(hs.portal.contacts.records[int(i)].updated_ms > before[int(i)] for i in ids)
    assert len(hs.portal.events) == events_before + len(ids)
    assert hs.mutate(0.05, seed=1) == ids
    remote = api.post("/_emulator/mutate", json={"fraction": 0.01, "seed": 4}).json()["ids"]
    assert remote
    newest = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "GTE",
                        "value": str(max(before.values()) + 1),
                    }
                ]
            }
        ],
        "limit": 200,
    }
    assert api.post("/crm/v3/objects/contacts/search", json=newest).json()["total"] >= len(
        set(ids) | set(remote)
    )
