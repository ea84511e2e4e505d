"""Reliability matrix row 19: every invalid HubSpot request is refused, a replay runs once."""

from __future__ import annotations

import ast
import hashlib
import inspect
import time
from typing import Any

import orjson
import pytest

from leadbridge.sync.webhooks import signatures
from leadbridge.sync.webhooks.signatures import (
    WebhookRejected,
    hubspot_v3_signature,
    verify_hubspot_v3,
)


def _body(event_id: int = 10, object_id: int = 103) -> bytes:
    return orjson.dumps(
        [
            {
                "eventId": event_id,
                "subscriptionType": "contact.propertyChange",
                "objectId": object_id,
                "attemptNumber": 0,
                "occurredAt": 1_700_000_000_000,
            }
        ]
    )


def _queued(rig: Any) -> int:
    return sum(rig.queue.statuses("hs").values())


def test_wrong_secret_is_refused_and_nothing_is_queued(rig: Any, kit: Any) -> None:
    body = _body()
    response = rig.post(body, kit.sign(rig.url, body, secret="not-the-secret"))
    assert response.status_code == 401
    assert response.json() == {"error": "signature does not match"}
    assert _queued(rig) == 0


def test_one_changed_byte_breaks_the_signature(rig: Any, kit: Any) -> None:
    body = _body(object_id=103)
    headers = kit.sign(rig.url, body)
    tampered = body.replace(b"103", b"104")
    assert len(tampered) == len(body)
    assert rig.post(tampered, headers).status_code == 401
    assert _queued(rig) == 0


@pytest.mark.parametrize("offset_s", [-301, 301])
def test_timestamps_more_than_five_minutes_away_are_refused(
    rig: Any, kit: Any, offset_s: int
) -> None:
    body = _body()
    at_ms = int((time.time() + offset_s) * 1000)
    response = rig.post(body, kit.sign(rig.url, body, at_ms=at_ms))
    assert response.status_code == 401
    assert "limit 300 s" in response.json()["error"]
    assert _queued(rig) == 0


def test_a_timestamp_inside_the_window_is_accepted(rig: Any, kit: Any) -> None:
    body = _body()
    at_ms = int((time.time() - 290) * 1000)
    assert rig.post(body, kit.sign(rig.url, body, at_ms=at_ms)).status_code == 200


def test_a_replayed_request_is_acknowledged_but_processed_once(rig: Any, kit: Any) -> None:
    body = _body(event_id=77, object_id=104)
    headers = kit.sign(rig.url, body)
    first = rig.post(body, headers)
    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert kit.wait_for(lambda: rig.queue.statuses("hs")["done"] == 1)
    again = rig.post(body, headers)  # the same bytes within the window: a replay
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 1}
    # HubSpot's own redelivery: same eventId, higher attemptNumber, newly signed.
    retry = orjson.dumps([{**orjson.loads(body)[0], "attemptNumber": 1}])
    assert rig.post(retry, kit.sign(rig.url, retry)).json()["duplicates"] == 1
    time.sleep(0.3)
    assert [w.object_id for w in rig.hs.ledger.writes()].count("104") == 1
    assert len(rig.queue.rows("hs")) == 1


def test_missing_headers_are_refused(rig: Any, kit: Any) -> None:
    body = _body()
    signed = kit.sign(rig.url, body)
    no_timestamp = {k: v for k, v in signed.items() if k != "X-HubSpot-Request-Timestamp"}
    no_signature = {k: v for k, v in signed.items() if k != "X-HubSpot-Signature-v3"}
    for headers in (no_timestamp, no_signature, {"Content-Type": "application/json"}):
        assert rig.post(body, headers).status_code == 401
    assert _queued(rig) == 0


def test_v1_or_v2_signatures_alone_are_refused(rig: Any, kit: Any) -> None:
    body = _body()
    v1 = hashlib.sha256(kit.secret.encode() + body).hexdigest()
    v2 = hashlib.sha256(kit.secret.encode() + b"POST" + rig.url.encode() + body).hexdigest()
    for version, value in (("v1", v1), ("v2", v2)):
        headers = {"X-HubSpot-Signature": value, "X-HubSpot-Signature-Version": version}
        response = rig.post(body, headers)
        assert response.status_code == 401
        assert "v3 is required" in response.json()["error"]
    metrics = rig.http.get(f"{rig.daemon.base_url}/metrics").text
    assert (
        'leadbridge_webhook_events_total{connection="hs",outcome="rejected_legacy_signature"} 2.0'
        in metrics
    )


def test_the_signed_uri_is_url_decoded_and_public_url_is_honoured() -> None:
    body = b"[]"
    stamp = str(int(time.time() * 1000))
    public = "https://hooks.example.com/webhooks/hs?name=a%20b"
    signature = hubspot_v3_signature(
        "s", "POST", "https://hooks.example.com/webhooks/hs?name=a b", body, stamp
    )
    headers = {"x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": stamp}
    verify_hubspot_v3(headers, secret="s", method="POST", uri=public, body=body, now_s=time.time())
    with pytest.raises(WebhookRejected):
        verify_hubspot_v3(
            headers,
            secret="s",
            method="POST",
            uri=public.replace("hooks", "evil"),
            body=body,
            now_s=time.time(),
        )


def test_every_verifier_compares_in_constant_time() -> None:
    tree = ast.parse(inspect.getsource(signatures))
    verifiers = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("verify_")
    ]
    assert {v.name for v in verifiers} == {"verify_hubspot_v3", "verify_leadbridge", "verify_token"}
    for func in verifiers:
        calls = [
            n
            for n in ast.walk(func)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "compare_digest"
        ]
        assert calls, f"{func.name} must use hmac.compare_digest"
        equalities = [
            n
            for n in ast.walk(func)
            if isinstance(n, ast.Compare)
            and any(isinstance(op, ast.Eq | ast.NotEq) for op in n.ops)
        ]
        assert not equalities, f"{func.name} compares secrets with =="
