"""Salesforce, ActiveCampaign and BOMA endpoints: their proofs, formats and answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Daemon, WebhookSetup
from leadbridge.sync.webhooks.config import ServiceSettings, WebhookSettings
from leadbridge.sync.webhooks.events import php_form
from leadbridge.sync.webhooks.queue import EventQueue, open_queue
from leadbridge.sync.webhooks.receivers import Endpoint
from leadbridge.sync.webhooks.signatures import leadbridge_signature

ORG = "00D5e000000AbCdEAK"
SF_TOKEN = "sf-outbound-token"
AC_TOKEN = "ac-hook-token-0123456789"
BOMA_SECRET = "boma-signing-secret"


def _outbound(org: str, *notes: tuple[str, str]) -> bytes:
    items = "".join(
        f"<Notification><Id>{nid}</Id>"
        f'<sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{rid}</sf:Id><sf:Email>x@example.com</sf:Email></sObject></Notification>"
        for nid, rid in notes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId><ActionId>04k5e000000Xyz</ActionId>"
        f'<SessionId xsi:nil="true"/>{items}</notifications></soapenv:Body></soapenv:Envelope>'
    ).encode()


class Senders:
    def __init__(self, tmp: Path) -> None:
        self.queue: EventQueue = open_queue(f"sqlite:///{tmp / 'queue.db'}")
        conns = [
            ConnectionConfig(name="sf", crm="salesforce", every_minutes=600),
            ConnectionConfig(name="ac", crm="activecampaign", every_minutes=600),
            ConnectionConfig(name="boma", crm="boma", every_minutes=600),
        ]
        endpoints = [
            Endpoint("sf", "salesforce", WebhookSettings(organization_id=ORG[:15]), SF_TOKEN),
            Endpoint("ac", "activecampaign", WebhookSettings(), AC_TOKEN),
            Endpoint("boma", "boma", WebhookSettings(), BOMA_SECRET),
        ]

        def no_handler(conn: ConnectionConfig) -> Any:
            raise AssertionError("nothing is dispatched here")

        self.daemon = Daemon(
            conns,
            lambda c, s: pytest.fail("no scheduled runs"),
            service=ServiceSettings(port=0, max_body_bytes=4096),
            webhooks=WebhookSetup(self.queue, endpoints, no_handler),
            dispatch=False,
        )
        self.daemon.start(run_now=False)
        self.base = str(self.daemon.base_url)
        self.http = httpx.Client(timeout=10)

    def close(self) -> None:
        self.http.close()
        self.daemon.stop()
        self.queue.close()


@pytest.fixture
def senders(tmp_path: Path) -> Iterator[Senders]:
    s = Senders(tmp_path)
    yield s
    s.close()


def test_salesforce_outbound_messages_are_acked_and_deduped(senders: Senders) -> None:
    url = f"{senders.base}/webhooks/sf?token={SF_TOKEN}"
    body = _outbound(
        ORG, ("04l5e00000AAA1", "0035e00000QQQ1"), ("04l5e00000AAA2", "0035e00000QQQ2")
    )
    response = senders.http.post(url, content=body, headers={"Content-Type": "text/xml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert b"<Ack>true</Ack>" in response.content
    # At-least-once delivery: the same notification again is acked but not queued.
    again = _outbound(ORG, ("04l5e00000AAA2", "0035e00000QQQ2"))
    assert (
        senders.http.post(url, content=again, headers={"Content-Type": "text/xml"}).status_code
        == 200
    )
    rows = senders.queue.rows("sf")
    assert [r["event"]["object_ids"] for r in rows] == [["0035e00000QQQ1"], ["0035e00000QQQ2"]]
    assert rows[0]["event"]["kind"] == "Contact"


def test_salesforce_refuses_another_org_a_bad_token_and_entities(senders: Senders) -> None:
    url = f"{senders.base}/webhooks/sf?token={SF_TOKEN}"
    other = _outbound("00D5e000000ZzZzEAK", ("04l5e00000AAA9", "0035e00000QQQ9"))
    assert senders.http.post(url, content=other).status_code == 401
    good = _outbound(ORG, ("04l5e00000AAA8", "0035e00000QQQ8"))
    bad_token = f"{senders.base}/webhooks/sf?token=wrong"
    assert senders.http.post(bad_token, content=good).status_code == 401
    assert senders.http.post(f"{senders.base}/webhooks/sf", content=good).status_code == 401
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    )
    assert senders.http.post(url, content=bomb).status_code == 400
    assert senders.queue.rows("sf") == []


def test_salesforce_change_events_need_a_signature(senders: Senders) -> None:
    url = f"{senders.base}/webhooks/sf"
    body = orjson.dumps(
        [
            {
                "ChangeEventHeader": {
                    "entityName": "Contact",
                    "changeType": "UPDATE",
                    "recordIds": ["0035e00000QQQ1"],
                    "transactionKey": "tx-1",
                    "sequenceNumber": 1,
                    "commitTimestamp": 1_700_000_000_000,
                    "changedFields": ["Email"],
                }
            },
            {
                "ChangeEventHeader": {
                    "changeType": "DELETE",
                    "recordIds": ["0035e00000QQQ2"],
                    "transactionKey": "tx-2",
                    "sequenceNumber": 1,
                }
            },
            {
                "ChangeEventHeader": {
                    "changeType": "GAP_OVERFLOW",
                    "recordIds": [],
                    "transactionKey": "tx-3",
                    "sequenceNumber": 1,
                }
            },
        ]
    )
    plain = {"Content-Type": "application/json"}
    assert senders.http.post(url, content=body, headers=plain).status_code == 401
    stamp = str(int(time.time()))
    signed = {
        **plain,
        "X-Leadbridge-Timestamp": stamp,
        "X-Leadbridge-Signature": leadbridge_signature(SF_TOKEN, body, stamp),
    }
    assert senders.http.post(url, content=body, headers=signed).json()["accepted"] == 3
    events = [r["event"] for r in senders.queue.rows("sf")]
    assert [(e["action"], e["object_ids"]) for e in events] == [
        ("refresh", ["0035e00000QQQ1"]),
        ("delete", ["0035e00000QQQ2"]),
        ("refresh", []),  # a gap: re-read everything since the cursor
    ]


def test_activecampaign_form_posts_need_the_token(senders: Senders) -> None:
    form = {
        "type": "update",
        "date_time": "2026-03-01T10:00:00-05:00",
        "initiated_by": "admin",
        "contact[id]": "42",
        "contact[email]": "anne@example.com",
        "contact[fields][0][value]": "x",
    }
    body = urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = f"{senders.base}/webhooks/ac"
    assert senders.http.post(url, content=body, headers=headers).status_code == 401
    assert senders.http.post(f"{url}?token=nope", content=body, headers=headers).status_code == 401
    ok = senders.http.post(f"{url}?token={AC_TOKEN}", content=body, headers=headers)
    assert ok.json() == {"accepted": 1, "duplicates": 0}
    # AC sends no id: an identical repost is a duplicate.
    assert senders.http.post(f"{url}?token={AC_TOKEN}", content=body, headers=headers).json() == {
        "accepted": 0,
        "duplicates": 1,
    }
    (row,) = senders.queue.rows("ac")
    assert row["event"]["object_ids"] == ["42"]
    assert row["event"]["kind"] == "update"
    assert php_form(body)["contact"]["fields"]["0"] == {"value": "x"}


def test_boma_messages_are_signed_and_bounded(senders: Senders) -> None:
    url = f"{senders.base}/webhooks/boma"
    body = orjson.dumps(
        {
            "message_id": "m-1",
            "lead_id": "102938",
            "lead_source": "Whatsapp_Business",
            "message_body": "Bonjour, je voudrais des infos pour un prêt, je suis infirmier",
        }
    )
    stamp = str(int(time.time()))
    signature = leadbridge_signature(BOMA_SECRET, body, stamp)
    headers = {"X-Leadbridge-Timestamp": stamp, "X-Leadbridge-Signature": signature}
    stale = {**headers, "X-Leadbridge-Timestamp": str(int(time.time()) - 400)}
    assert senders.http.post(url, content=body, headers=stale).status_code == 401
    assert senders.http.post(url, content=body + b" ", headers=headers).status_code == 401
    assert senders.http.post(url, content=body, headers=headers).status_code == 200
    (row,) = senders.queue.rows("boma")
    assert row["event"]["action"] == "message"
    assert row["event"]["object_ids"] == ["102938"]
    big = b"x" * 5000
    assert senders.http.post(url, content=big, headers=headers).status_code == 413
    assert senders.http.post(f"{senders.base}/webhooks/nope", content=body).status_code == 404


def test_endpoints_without_their_secret_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="secret_env"):
        Endpoint("hs", "hubspot", WebhookSettings(), None)
    with pytest.raises(ConfigError, match="organization_id"):
        Endpoint("sf", "salesforce", WebhookSettings(), None)
    with pytest.raises(ConfigError, match="HUBSPOT_SECRET_MISSING"):
        WebhookSettings(secret_env="HUBSPOT_SECRET_MISSING").resolve_secret(
            connection="hs", environ={}
        )
