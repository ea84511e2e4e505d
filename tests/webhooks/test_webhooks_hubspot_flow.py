"""HubSpot webhook → contact re-read by id → score written back, over real HTTP."""

from __future__ import annotations

from typing import Any

import orjson


def _events(*pairs: tuple[int, int], kind: str = "contact.propertyChange") -> bytes:
    return orjson.dumps(
        [
            {
                "eventId": event_id,
                "subscriptionId": 1,
                "portalId": 4815162,
                "appId": 7,
                "occurredAt": 1_700_000_000_000,
                "subscriptionType": kind,
                "attemptNumber": 0,
                "objectId": object_id,
                "propertyName": "lifecyclestage",
                "changeSource": "CRM",
            }
            for event_id, object_id in pairs
        ]
    )


def test_a_signed_event_gets_its_contact_scored_and_written(rig: Any, kit: Any) -> None:
    response = rig.post(_events((1, 101), (2, 102)))
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert kit.wait_for(lambda: {"101", "102"} <= rig.written())
    assert kit.wait_for(lambda: rig.queue.statuses("hs")["done"] == 2)
    written = rig.store.written_values("hs")
    assert set(written) == {"101", "102"}  # only the contacts the events named
    assert all(isinstance(v.get("leadbridge_score"), int) for v in written.values())
