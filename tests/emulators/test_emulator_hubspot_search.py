from __future__ import annotations

import statistics
import time

import httpx

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, Portal
from leadbridge.emulators.hubspot.search import parse_search, run_search

TOKEN = "pat-na1-emulator-token"
SORT_ASC = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]


def _since(value: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": value}]}
        ],
        "sorts": SORT_ASC,
        "limit": 100,
    }
    body.update(extra)
    return body


def test_paging_walks_every_live_contact_once_in_modified_order(hs, api, spec):
    seen: list[tuple[str, int]] = []
    after = None
    while True:
        body = _since("0", properties=["email"], **({"after": after} if after else {}))
        page = api.post("/crm/v3/objects/contacts/search", json=body)
        assert page.status_code == 200
        doc = page.json()
        spec.validate(
            "crm-contacts-v3/contacts.json", "CollectionResponseWithTotalSimplePublicObject", doc
        )
        assert "X-HubSpot-RateLimit-Max" not in page.headers
        seen += [(r["properties"]["lastmodifieddate"], int(r["id"])) for r in doc["results"]]
        if "paging" not in doc:
            break
        after = doc["paging"]["next"]["after"]
    live = [r for r in hs.portal.contacts.records.values() if not r.archived]
    assert len(seen) == len(live) == doc["total"]
    assert seen == sorted(seen)
    assert len({i for _, i in seen}) == len(seen)


def test_epoch_ms_and_iso_filters_agree_and_archived_never_returned(hs, api):
    records = sorted(hs.portal.contacts.records.values(), key=lambda r: r.updated_ms)
    pivot = records[len(records) // 2]
    iso = pivot.properties["lastmodifieddate"]
    by_ms = api.post("/crm/v3/objects/contacts/search", json=_since(str(pivot.updated_ms))).json()
    by_iso = api.post("/crm/v3/objects/contacts/search", json=_since(iso)).json()
    assert by_ms["total"] == by_iso["total"] > 0
    assert [r["id"] for r in by_ms["results"]] == [r["id"] for r in by_iso["results"]]
    archived = [r for r in hs.portal.contacts.records.values() if r.archived]
    assert archived, "generator should archive a few contacts"
    body = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_object_id",
                        "operator": "IN",
                        "values": [str(r.id) for r in archived],
                    }
                ]
            }
        ]
    }
    assert api.post("/crm/v3/objects/contacts/search", json=body).json()["total"] == 0


def test_operators_or_groups_and_generic_sort(api):
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "country", "operator": "EQ", "value": "switzerland"},
                    {"propertyName": "state", "operator": "IN", "values": ["Vaud", "Genève"]},
                ]
            },
            {"filters": [{"propertyName": "hs_language", "operator": "EQ", "value": "it"}]},
        ],
        "sorts": [{"propertyName": "email", "direction": "DESCENDING"}],
        "properties": ["country", "state", "hs_language", "email"],
        "limit": 200,
    }
    doc = api.post("/crm/v3/objects/contacts/search", json=body).json()
    assert doc["total"] > 0
    for r in doc["results"]:
        p = r["properties"]
        assert (p["country"] == "Switzerland" and p["state"] in {"Vaud", "Genève"}) or p[
            "hs_language"
        ] == "it"
    emails = [r["properties"]["email"].lower() for r in doc["results"]]
    assert emails == sorted(emails, reverse=True)
    missing = {
        "filterGroups": [
            {"filters": [{"propertyName": "mobilephone", "operator": "NOT_HAS_PROPERTY"}]}
        ],
        "properties": ["mobilephone"],
        "limit": 50,
    }
    rows = api.post("/crm/v3/objects/contacts/search", json=missing).json()["results"]
    assert rows
    assert all(r["properties"]["mobilephone"] is None for r in rows)
    between = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_analytics_num_page_views",
                        "operator": "BETWEEN",
                        "value": "2",
                        "highValue": "4",
                    }
                ]
            }
        ],
        "properties": ["hs_analytics_num_page_views"],
        "limit": 200,
    }
    rows = api.post("/crm/v3/objects/contacts/search", json=between).json()["results"]
    assert rows
    assert all(2 <= int(r["properties"]["hs_analytics_num_page_views"]) <= 4 for r in rows)


def test_limit_over_200_is_a_validation_error(api, spec):
    r = api.post("/crm/v3/objects/contacts/search", json=_since("0", limit=201))
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    spec.validate("crm-contacts-v3/contacts.json", "Error", r.json())
    bad_date = api.post("/crm/v3/objects/contacts/search", json=_since("yesterday"))
    assert bad_date.status_code == 400


def test_ten_thousand_cap_and_id_tiebreak_on_one_shared_timestamp():
    portal = Portal()
    ts = 1_767_225_600_000
    ids = portal.add_contacts_same_timestamp(10_050, ts)
    limits = HubSpotLimits(search_per_s=1000)
    with (
        HubSpotEmulator(portal, limits=limits) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
    ):
        last_ok = api.post(
            "/crm/v3/objects/contacts/search", json=_since(str(ts), limit=200, after="9800")
        ).json()
        assert last_ok["total"] == 10_050
        assert last_ok["paging"]["next"]["after"] == "10000"
        past = api.post(
            "/crm/v3/objects/contacts/search", json=_since(str(ts), limit=200, after="10000")
        )
        assert past.status_code == 400
        assert past.json()["category"] == "VALIDATION_ERROR"
        # the workaround: pin the timestamp and page by hs_object_id
        pinned = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(ts)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": ids[9_999]},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": 200,
        }
        rest = api.post("/crm/v3/objects/contacts/search", json=pinned).json()
        assert [r["id"] for r in rest["results"]] == ids[10_000:]
        assert "paging" not in rest


def test_one_page_over_50k_contacts_is_fast():
    portal = Portal()
    base = 1_767_225_600_000
    for chunk in range(50):
        portal.add_contacts_same_timestamp(1_000, base + chunk * 60_000)
    store = portal.contacts
    query = parse_search(
        store, _since(str(base + 20 * 60_000), limit=200, after="5000"), max_limit=200
    )
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        result = run_search(store, query, max_results=10_000)
        timings.append(time.perf_counter() - start)
    assert result.total == 30_000
    assert len(result.records) == 200
    assert statistics.median(timings) < 0.01
    with (
        HubSpotEmulator(portal, limits=HubSpotLimits(search_per_s=1000)) as emu,
        httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
    ):
        http_times = []
        for _ in range(10):
            start = time.perf_counter()
            assert (
                api.post(
                    "/crm/v3/objects/contacts/search", json=_since(str(base), limit=200)
                ).status_code
                == 200
            )
            http_times.append(time.perf_counter() - start)
        assert statistics.median(http_times) < 0.05


def test_list_endpoint_paging_defaults_and_archived(hs, api, spec):
    first = api.get("/crm/v3/objects/contacts")
    doc = first.json()
    spec.validate(
        "crm-contacts-v3/contacts.json",
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
        doc,
    )
    assert len(doc["results"]) == 10
    assert first.headers["X-HubSpot-RateLimit-Max"] == "10000"
    assert "X-HubSpot-RateLimit-Daily-Remaining" in first.headers
    total, after = 0, None
    while True:
        page = api.get(
            "/crm/v3/objects/contacts", params={"limit": 100, **({"after": after} if after else {})}
        ).json()
        total += len(page["results"])
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
    assert total == len(hs.portal.contacts)
    assert api.get("/crm/v3/objects/contacts", params={"limit": 101}).status_code == 400
    archived = api.get("/crm/v3/objects/contacts", params={"archived": "true", "limit": 100}).json()
    assert archived["results"]
    assert all(r["archived"] and r["archivedAt"] for r in archived["results"])
    one = api.get(f"/crm/v3/objects/contacts/{archived['results'][0]['id']}")
    assert one.status_code == 404
    assert one.json()["category"] == "OBJECT_NOT_FOUND"


def test_engagement_search_incremental_on_hs_lastmodifieddate(hs, api, spec):
    for kind in ("emails", "calls", "meetings", "notes"):
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["hs_timestamp"],
            "limit": 200,
        }
        doc = api.post(f"/crm/v3/objects/{kind}/search", json=body).json()
        spec.validate(
            f"crm-{kind}-v3/{kind}.json", "CollectionResponseWithTotalSimplePublicObject", doc
        )
        assert doc["total"] == len(hs.portal.engagements[kind])
        stamps = [r["properties"]["hs_lastmodifieddate"] for r in doc["results"]]
        assert stamps == sorted(stamps)
        listed = api.get(f"/crm/v3/objects/{kind}", params={"limit": 5}).json()
        assert len(listed["results"]) == min(5, len(hs.portal.engagements[kind]))
    calls = api.post(
        "/crm/v3/objects/calls/search",
        json={"properties": ["hs_call_disposition", "hs_call_body"], "limit": 200},
    ).json()
    refused = [
        c for c in calls["results"] if "not interested" in (c["properties"]["hs_call_body"] or "")
    ]
    assert refused
    replies = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_email_direction",
                        "operator": "EQ",
                        "value": "INCOMING_EMAIL",
                    }
                ]
            }
        ]
    }
    assert api.post("/crm/v3/objects/emails/search", json=replies).json()["total"] > 0
