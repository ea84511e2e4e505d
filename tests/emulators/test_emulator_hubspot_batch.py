from __future__ import annotations

TOKEN = "pat-na1-emulator-token"


def _live_ids(hs, n):
    return [str(i) for i in hs.portal.contacts.by_id[:n]]


def _create_score_property(api):
    group = api.post(
        "/crm/v3/properties/contacts/groups", json={"name": "leadbridge", "label": "Leadbridge"}
    )
    assert group.status_code == 201
    prop = api.post(
        "/crm/v3/properties/contacts",
        json={
            "name": "leadbridge_score",
            "label": "Lead score",
            "type": "number",
            "fieldType": "number",
            "groupName": "leadbridge",
        },
    )
    assert prop.status_code == 201
    return prop


def test_property_bootstrap_and_409_duplicates(api, spec):
    ids = ["101"]
    before = api.post(
        "/crm/v3/objects/contacts/batch/update",
        json={"inputs": [{"id": ids[0], "properties": {"leadbridge_score": "42"}}]},
    )
    assert before.status_code == 207
    assert before.json()["errors"][0]["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in before.json()["errors"][0]["message"]
    prop = _create_score_property(api)
    spec.validate("crm-properties-v3/properties.json", "Property", prop.json())
    dup = api.post(
        "/crm/v3/properties/contacts",
        json={
            "name": "leadbridge_score",
            "label": "x",
            "type": "number",
            "fieldType": "number",
            "groupName": "leadbridge",
        },
    )
    assert dup.status_code == 409
    spec.validate("crm-properties-v3/properties.json", "Error", dup.json())
    dup_group = api.post(
        "/crm/v3/properties/contacts/groups", json={"name": "leadbridge", "label": "L"}
    )
    assert dup_group.status_code == 409
    listing = api.get("/crm/v3/properties/contacts").json()
    spec.validate(
        "crm-properties-v3/properties.json", "CollectionResponsePropertyNoPaging", listing
    )
    assert any(p["name"] == "leadbridge_score" for p in listing["results"])
    groups = api.get("/crm/v3/properties/contacts/groups").json()
    spec.validate(
        "crm-properties-v3/properties.json", "CollectionResponsePropertyGroupNoPaging", groups
    )
    assert api.get("/crm/v3/properties/contacts/leadbridge_score").json()["type"] == "number"
    assert api.get("/crm/v3/properties/contacts/nope").status_code == 404
    bad_type = api.post(
        "/crm/v3/properties/contacts",
        json={
            "name": "bad",
            "label": "b",
            "type": "number",
            "fieldType": "select",
            "groupName": "leadbridge",
        },
    )
    assert bad_type.status_code == 400


def test_batch_update_mixed_gives_207_and_ledger_writes(hs, api, spec):
    _create_score_property(api)
    ok_id, other_id = _live_ids(hs, 2)
    before = hs.portal.contacts.records[int(ok_id)].updated_ms
    body = {
        "inputs": [
            {"id": ok_id, "properties": {"leadbridge_score": "87.5"}},
            {"id": "999999", "properties": {"leadbridge_score": "1"}},
            {"id": other_id, "properties": {"hs_email_open": "3"}},
        ]
    }
    r = api.post("/crm/v3/objects/contacts/batch/update", json=body)
    assert r.status_code == 207
    doc = r.json()
    spec.validate("crm-contacts-v3/contacts.json", "BatchResponseSimplePublicObjectWithErrors", doc)
    assert doc["numErrors"] == 2
    assert len(doc["results"]) == 1
    assert {e["category"] for e in doc["errors"]} == {"OBJECT_NOT_FOUND", "VALIDATION_ERROR"}
    assert all({"status", "category", "message", "context"} <= e.keys() for e in doc["errors"])
    assert doc["results"][0]["properties"]["leadbridge_score"] == "87.5"
    assert hs.portal.contacts.records[int(ok_id)].updated_ms > before
    writes = hs.ledger.writes()
    assert [(w.object_id, w.status) for w in writes] == [
        (ok_id, 200),
        ("999999", 404),
        (other_id, 400),
    ]
    assert writes[0].properties == {"leadbridge_score": "87.5"}
    all_ok = api.post(
        "/crm/v3/objects/contacts/batch/update",
        json={"inputs": [{"id": other_id, "properties": {"leadbridge_score": "12"}}]},
    )
    assert all_ok.status_code == 200
    spec.validate("crm-contacts-v3/contacts.json", "BatchResponseSimplePublicObject", all_ok.json())
    assert set(all_ok.json()) >= {"status", "results", "requestedAt", "startedAt", "completedAt"}


def test_batch_limits_duplicates_and_invalid_values(hs, api):
    ids = _live_ids(hs, 101)
    too_many = api.post(
        "/crm/v3/objects/contacts/batch/update",
        json={"inputs": [{"id": i, "properties": {"jobtitle": "x"}} for i in ids]},
    )
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"
    dup = api.post(
        "/crm/v3/objects/contacts/batch/update",
        json={
            "inputs": [
                {"id": ids[0], "properties": {"jobtitle": "a"}},
                {"id": ids[0], "properties": {"jobtitle": "b"}},
            ]
        },
    )
    assert dup.status_code == 400
    assert "Duplicate" in dup.json()["message"]
    bad = api.post(
        "/crm/v3/objects/contacts/batch/update",
        json={
            "inputs": [
                {"id": ids[0], "properties": {"numemployees": "lots"}},
                {"id": ids[1], "properties": {"lifecyclestage": "lead"}},
            ]
        },
    )
    assert bad.status_code == 207
    assert "INVALID_OPTION" in bad.json()["errors"][0]["message"]
    read = api.post(
        "/crm/v3/objects/contacts/batch/read",
        json={
            "inputs": [{"id": ids[0]}, {"id": "424242"}],
            "properties": ["email"],
            "propertiesWithHistory": [],
        },
    )
    assert read.status_code == 207
    assert read.json()["errors"][0]["context"] == {"ids": ["424242"]}


def test_single_patch_upsert_archive_and_gdpr_delete(hs, api, spec):
    cid = _live_ids(hs, 1)[0]
    patched = api.patch(f"/crm/v3/objects/contacts/{cid}", json={"properties": {"jobtitle": "CMO"}})
    assert patched.status_code == 200
    spec.validate("crm-contacts-v3/contacts.json", "SimplePublicObject", patched.json())
    assert (
        api.patch(f"/crm/v3/objects/contacts/{cid}", json={"properties": {"nope": "1"}}).status_code
        == 400
    )
    assert (
        api.patch(
            "/crm/v3/objects/contacts/77777777", json={"properties": {"jobtitle": "x"}}
        ).status_code
        == 404
    )
    email = hs.portal.contacts.records[int(cid)].properties["email"]
    up = api.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={
            "inputs": [
                {"id": email, "idProperty": "email", "properties": {"jobtitle": "CEO"}},
                {
                    "id": "new.lead@example.ch",
                    "idProperty": "email",
                    "properties": {"firstname": "Nea"},
                },
            ]
        },
    )
    assert up.status_code == 200
    spec.validate(
        "crm-contacts-v3/contacts.json", "BatchResponseSimplePublicUpsertObject", up.json()
    )
    assert sorted(r["new"] for r in up.json()["results"]) == [False, True]
    archive = api.post("/crm/v3/objects/contacts/batch/archive", json={"inputs": [{"id": cid}]})
    assert archive.status_code == 204
    assert api.get(f"/crm/v3/objects/contacts/{cid}").status_code == 404
    assert api.get(f"/crm/v3/objects/contacts/{cid}", params={"archived": "true"}).json()[
        "archivedAt"
    ]
    gone = _live_ids(hs, 1)[0]
    gone_email = hs.portal.contacts.records[int(gone)].properties["email"]
    assert (
        api.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": gone}).status_code == 204
    )
    assert int(gone) not in hs.portal.contacts.records
    again = api.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={
            "inputs": [
                {"id": gone_email, "idProperty": "email", "properties": {"firstname": "Back"}}
            ]
        },
    )
    assert again.status_code == 207
    assert "GDPR" in again.json()["errors"][0]["message"]
    raw = api.get(f"/_emulator/contacts/{cid}").json()
    assert raw["archived"] is True
