from __future__ import annotations

import hubspot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)

TOKEN = "pat-na1-emulator-token"


def test_official_client_reads_and_writes_without_deserialization_errors(hs):
    client = hubspot.Client.create(access_token=TOKEN, host=hs.base_url)
    search = client.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
            ],
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=["email", "company", "mobilephone"],
            limit=50,
        )
    )
    assert search.total == len(hs.portal.contacts)
    assert len(search.results) == 50
    assert search.paging.next.after == "50"
    page = client.crm.contacts.basic_api.get_page(limit=10, properties=["email"])
    assert len(page.results) == 10
    assert page.paging.next.after
    ids = [r.id for r in page.results[:2]]
    ok = client.crm.contacts.batch_api.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "CTO"})]
        )
    )
    assert ok.results[0].properties["jobtitle"] == "CTO"
    mixed = client.crm.contacts.batch_api.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[1], properties={"jobtitle": "COO"}),
                SimplePublicObjectBatchInput(id="98765432", properties={"jobtitle": "x"}),
            ]
        )
    )
    assert mixed.num_errors == 1
    assert mixed.errors[0].category == "OBJECT_NOT_FOUND"
    calls = client.crm.objects.calls.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            limit=5, properties=["hs_call_status"]
        )
    )
    assert calls.total == len(hs.portal.engagements["calls"])
    props = client.crm.properties.core_api.get_all(object_type="contacts")
    assert any(p.name == "lastmodifieddate" for p in props.results)
