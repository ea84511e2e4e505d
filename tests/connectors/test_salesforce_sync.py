"""The Salesforce connector against the emulator: real HTTPS on 127.0.0.1, no mocks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadbridge.connectors.salesforce import SalesforceConnector, from_settings
from leadbridge.core.auth import MemoryTokenPersister
from leadbridge.core.errors import ConfigError, MalformedResponse, RateLimited
from leadbridge.core.http import RetryPolicy
from leadbridge.core.models import Bookmark, Page, ScoreWrite
from leadbridge.emulators.salesforce import (
    SalesforceEmulator,
    SalesforceLimits,
    generate_salesforce,
)
from leadbridge.emulators.salesforce.generator import add_same_timestamp
from leadbridge.sync.writeback import SCORE_FIELDS

FAST = RetryPolicy(max_attempts=12, base_s=0.005, cap_s=0.05, max_elapsed_s=60.0)


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _emulator(keypair: tuple[str, str], n: int = 150, **limits: Any) -> SalesforceEmulator:
    settings = {"query_page_size": 40, "bulk_job_delay_s": 0.05, **limits}
    return SalesforceEmulator(
        generate_salesforce(n, seed=11, invalid_rate=0.02),
        limits=SalesforceLimits(**settings),
        jwt_public_key_pem=keypair[1],
    )


@pytest.fixture
def sf(keypair: tuple[str, str]) -> Iterator[SalesforceEmulator]:
    with _emulator(keypair) as emu:
        yield emu


def _connector(
    sf: SalesforceEmulator, keypair: tuple[str, str], **extra: Any
) -> SalesforceConnector:
    settings: dict[str, Any] = {
        "instance_url": sf.base_url,
        "verify": sf.ca_path,
        "account": f"test-{uuid.uuid4().hex[:8]}",
        "daily_reserve": 0,
        "concurrency_retry_s": 0.01,
        "bulk_poll_s": 0.05,
        "auth": {
            "kind": "jwt_bearer",
            "client_id": sf.client_id,
            "username": sf.org.api_username,
            "private_key_pem": keypair[0],
            "token_url": sf.token_url,
        },
        **extra,
    }
    runtime = settings.pop("_runtime", {})
    connector = from_settings(settings, **runtime)
    connector.api.http.retry = FAST
    return connector


@pytest.fixture
def conn(sf: SalesforceEmulator, keypair: tuple[str, str]) -> Iterator[SalesforceConnector]:
    connector = _connector(sf, keypair)
    yield connector
    connector.close()


def _ids(pages: list[Page]) -> list[str]:
    return [lead.source_ids["salesforce"] for page in pages for lead in page.leads]


def _live(sf: SalesforceEmulator, sobject: str) -> set[str]:
    return {row["Id"] for row in sf.org.rows(sobject)}


def test_full_pull_equals_the_org(sf: SalesforceEmulator, conn: SalesforceConnector) -> None:
    pulled = {stream: list(conn.read(stream, None)) for stream in conn.streams()}
    leads = _ids(pulled["leads"])
    rejects = {r.record_id for p in pulled["leads"] + pulled["contacts"] for r in p.rejects}
    assert set(leads) | {r for r in rejects if r and r.startswith("00Q")} == _live(sf, "Lead")
    contacts = _ids(pulled["contacts"])
    assert set(contacts) | {r for r in rejects if r and r.startswith("003")} == _live(sf, "Contact")
    assert len(leads) == len(set(leads))
    assert rejects, "the generator's invalid records come back as rejects"
    reasons = [r.reason for p in pulled["leads"] for r in p.rejects]
    assert all("\n" not in reason for reason in reasons)
    won = [o for p in pulled["leads"] for o in p.outcomes if o.status == "won"]
    converted = {r["Id"] for r in sf.org.rows("Lead") if r["IsConverted"]}
    assert {o.lead_key.split(":", 1)[1] for o in won} == converted
    done_tasks = {r["Id"] for r in sf.org.rows("Task") if r["Status"] == "Completed" and r["WhoId"]}
    task_ids = {a.source_id for p in pulled["tasks"] for a in p.activities}
    assert task_ids == done_tasks
    kinds = {
        a.kind
        for stream in ("tasks", "events", "campaign_members")
        for p in pulled[stream]
        for a in p.activities
    }
    assert {"email_sent", "call_completed", "meeting_held", "webinar_attended"} <= kinds
    assert all(p.bookmark is not None for s in pulled.values() for p in s)
    used = conn.calls()
    assert used["read"] >= conn.min_calls()["read"] > 0


def test_resume_from_every_checkpoint_loses_nothing(conn: SalesforceConnector) -> None:
    pages = list(conn.read("leads", None))
    assert len(pages) > 2
    everything = _ids(pages) + [r.record_id for p in pages for r in p.rejects]
    for i, page in enumerate(pages):
        assert page.bookmark is not None
        seen = [x for p in pages[: i + 1] for x in _ids([p]) + [r.record_id for r in p.rejects]]
        rest = list(conn.read("leads", page.bookmark))
        again = [x for p in rest for x in _ids([p]) + [r.record_id for r in p.rejects]]
        assert set(seen) | set(again) == set(everything)
        assert not set(seen) & set(again), "a resumed read repeats nothing before its bookmark"


def test_many_records_sharing_one_timestamp(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    stamp = sf.org.clock() - 60_000
    tied = set(add_same_timestamp(sf.org, 130, stamp, seed=5))
    since = Bookmark(
        stream="leads",
        cursor_field="SystemModstamp",
        value=datetime.fromtimestamp((stamp - 1000) / 1000, tz=UTC),
    )
    pages = list(conn.read("leads", since))
    middle = next(p.bookmark for p in pages if p.bookmark and p.bookmark.tiebreak_id in tied)
    assert middle is not None
    first = [x for p in pages for x in _ids([p])]
    resumed = _ids(list(conn.read("leads", middle)))
    cut = first.index(middle.tiebreak_id)
    assert resumed == first[cut + 1 :]
    assert tied <= set(first)


def test_throttling_and_5xx_storms_still_complete(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    sf.faults.rate_limited = 0.25
    sf.faults.rate_5xx = 0.25
    sf.faults.seed = 3
    leads = _ids(list(conn.read("leads", None)))
    sf.faults.rate_limited = sf.faults.rate_5xx = 0.0
    assert set(leads) <= _live(sf, "Lead")
    assert len(leads) >= len(_live(sf, "Lead")) - 5
    statuses = sf.ledger.statuses()
    assert (
        statuses.get(403, 0) + statuses.get(500, 0) + statuses.get(502, 0) + statuses.get(503, 0)
        > 0
    )
    assert conn.api.http.counter.retries > 0


def test_jwt_token_expiry_mid_sync_mints_once(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    pages = conn.read("tasks", None)
    first = next(pages)
    sf.faults.expire_tokens = True
    rest = list(pages)
    source = conn.api.token_source
    assert getattr(source, "mints", 0) == 2
    total = len(first.activities) + sum(len(p.activities) for p in rest)
    assert total == len(_ids_of_completed(sf))


def _ids_of_completed(sf: SalesforceEmulator) -> set[str]:
    return {r["Id"] for r in sf.org.rows("Task") if r["Status"] == "Completed" and r["WhoId"]}


def test_oauth_web_server_flow_refreshes_once_on_invalid_session(
    sf: SalesforceEmulator, keypair: tuple[str, str]
) -> None:
    persister = MemoryTokenPersister()
    conn = _connector(
        sf,
        keypair,
        auth={
            "kind": "oauth",
            "client_id": sf.client_id,
            "client_secret": sf.client_secret,
            "token_url": sf.token_url,
            "authorize_url": sf.authorize_url,
        },
        _runtime={"persister": persister},
    )
    try:
        request = conn.authorization_request()
        import ssl

        ctx = ssl.create_default_context(cafile=sf.ca_path)
        redirect = httpx.get(request.url, verify=ctx).headers["location"]
        params = parse_qs(urlparse(redirect).query)
        token = conn.complete_authorization(
            request, code=params["code"][0], state=params["state"][0]
        )
        assert token.refresh_token
        assert persister.token == token
        pages = conn.read("leads", None)
        next(pages)
        sf.faults.expire_tokens = True
        list(pages)
        assert sf.oauth.refreshes == 1
        assert conn.api.token_source.refreshes == 1
        assert persister.token is not None
        assert persister.token.access_token != token.access_token
    finally:
        conn.close()


def test_ensure_fields_twice_is_a_no_op_and_writes_land(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    conn.ensure_fields(SCORE_FIELDS)
    created = sf.ledger.counts()["POST /tooling/sobjects/CustomField"]
    assert created == 10  # five fields on Lead and on Contact
    setup_before = conn.calls()["setup"]
    conn.ensure_fields(SCORE_FIELDS)
    assert sf.ledger.counts()["POST /tooling/sobjects/CustomField"] == created
    assert conn.calls()["setup"] - setup_before == 3  # three lookups, nothing changed
    lead = next(r["Id"] for r in sf.org.rows("Lead") if not r["IsConverted"])
    contact = next(iter(_live(sf, "Contact")))
    values = {
        "leadbridge_score": 81,
        "leadbridge_tier": "hot",
        "leadbridge_action": "call",
        "leadbridge_reasons": "pricing page, webinar",
        "leadbridge_scored_at": "2026-03-01T12:00:00.123456+01:00",
    }
    result = conn.write(
        [
            ScoreWrite(source_id=i, lead_key=f"salesforce:{i}", values=values)
            for i in (lead, contact)
        ]
    )
    assert set(result.succeeded) == {lead, contact}
    assert not result.failed
    stored = sf.org.get("Lead", lead)
    assert stored is not None
    assert stored["Leadbridge_Score__c"] == 81
    assert stored["Leadbridge_Scored_At__c"] == int(
        datetime(2026, 3, 1, 11, 0, 0, 123000, tzinfo=UTC).timestamp() * 1000
    )


def test_writes_before_fls_fail_record_by_record(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    leads = [r["Id"] for r in sf.org.rows("Lead") if not r["IsConverted"]][:3]
    values = {"leadbridge_score": 10}
    result = conn.write([ScoreWrite(source_id=i, lead_key=i, values=values) for i in leads])
    assert not result.succeeded
    assert all("INVALID_FIELD" in r for r in result.failed.values())


def test_partial_batch_failure_is_reported_per_record(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    conn.ensure_fields(SCORE_FIELDS)
    live = [r["Id"] for r in sf.org.rows("Lead") if not r["IsConverted"]]
    gone = live[-1]
    sf.org.delete("Lead", gone)
    values = {"leadbridge_score": 50, "leadbridge_tier": "warm"}
    batch = [ScoreWrite(source_id=i, lead_key=i, values=values) for i in [*live[:5], gone]]
    batch.append(ScoreWrite(source_id=live[6], lead_key="x", values={"leadbridge_score": 1000}))
    batch.append(ScoreWrite(source_id="001000000000000AAA", lead_key="x", values=values))
    result = conn.write(batch)
    assert set(result.succeeded) == set(live[:5])
    assert result.failed[gone].startswith("ENTITY_IS_DELETED")
    assert result.failed[live[6]].startswith("NUMBER_OUTSIDE_VALID_RANGE")
    assert result.failed["001000000000000AAA"] == "not a Lead or Contact id"
    assert result.calls == 1


def test_large_batches_go_through_bulk_and_collections_stay_within_200(
    keypair: tuple[str, str],
) -> None:
    with _emulator(keypair, n=330) as sf:
        _bulk_and_collections(sf, keypair)


def _bulk_and_collections(sf: SalesforceEmulator, keypair: tuple[str, str]) -> None:
    conn = _connector(sf, keypair, write_mode="auto", bulk_threshold=250)
    try:
        conn.ensure_fields(SCORE_FIELDS)
        people = [
            r["Id"] for s in ("Lead", "Contact") for r in sf.org.rows(s) if not r.get("IsConverted")
        ]
        assert len(people) > 250
        values = {"leadbridge_score": 42, "leadbridge_tier": "", "leadbridge_action": "nurture"}
        small = conn.write(
            [ScoreWrite(source_id=i, lead_key=i, values=values) for i in people[:240]]
        )
        assert len(small.succeeded) == 240
        assert small.calls == 2
        big = conn.write([ScoreWrite(source_id=i, lead_key=i, values=values) for i in people])
        assert set(big.succeeded) == set(people)
        assert not big.failed
        assert any(k.startswith("POST /jobs/ingest") for k in sf.ledger.counts())
        stored = sf.org.get("Lead", next(i for i in people if i.startswith("00Q")))
        assert stored is not None
        assert stored["Leadbridge_Tier__c"] is None
        batches = [w for w in sf.ledger.writes() if w.endpoint.startswith("PATCH composite")]
        assert batches
        assert all(w.status == 200 for w in batches)
        assert sf.ledger.statuses().get(400, 0) == 0  # no request the platform would refuse
    finally:
        conn.close()


def test_deletes_detected_and_old_bookmarks_trigger_a_sweep(
    sf: SalesforceEmulator, keypair: tuple[str, str]
) -> None:
    now = datetime.now(UTC)
    lead = next(iter(_live(sf, "Lead")))
    sf.org.delete("Lead", lead, at=sf.org.clock() - 120_000)
    ancient = next(iter(_live(sf, "Contact")))
    sf.org.delete("Contact", ancient, at=sf.org.clock() - 18 * 86_400_000)
    known = _live(sf, "Lead") | _live(sf, "Contact") | {lead, ancient}
    conn = _connector(sf, keypair, _runtime={"known_ids": lambda: known})
    try:
        recent = Bookmark(
            stream="deleted", cursor_field="deletedDate", value=now - timedelta(days=2)
        )
        page = next(iter(conn.read("deleted", recent)))
        assert lead in page.deleted
        assert ancient not in page.deleted
        assert conn.sweeps == 0
        assert page.bookmark is not None
        assert page.bookmark.value > recent.value
        old = Bookmark(stream="deleted", cursor_field="deletedDate", value=now - timedelta(days=20))
        swept = next(iter(conn.read("deleted", old)))
        assert conn.sweeps == 1
        assert {lead, ancient} <= set(swept.deleted)
        assert not set(swept.deleted) & (_live(sf, "Lead") | _live(sf, "Contact"))
    finally:
        conn.close()


def test_malformed_page_gives_a_clear_one_line_error(
    sf: SalesforceEmulator, conn: SalesforceConnector
) -> None:
    sf.faults.malformed = 1.0
    sf.faults.malformed_kinds = ("truncated_json",)
    with pytest.raises(MalformedResponse) as caught:
        list(conn.read("leads", None))
    assert "\n" not in str(caught.value)
    assert "invalid JSON" in str(caught.value)


def test_exhausted_allocation_pauses_only_that_connection(keypair: tuple[str, str]) -> None:
    with _emulator(keypair, n=150, daily_api_requests=5) as poor, _emulator(keypair, n=20) as rich:
        starved = _connector(poor, keypair)
        healthy = _connector(rich, keypair)
        try:
            pages = starved.read("leads", None)
            next(pages)
            import ssl

            ctx = ssl.create_default_context(cafile=poor.ca_path)
            for _ in range(4):  # another integration spends the rest of the allocation
                httpx.get(
                    f"{poor.base_url}/services/data/v60.0/limits",
                    verify=ctx,
                    headers={"Authorization": f"Bearer {poor.session_id}"},
                )
            started = time.monotonic()
            with pytest.raises(RateLimited) as caught:
                list(pages)
            assert time.monotonic() - started < 5, "fails fast instead of sleeping for hours"
            assert caught.value.retry_after == 3600
            assert poor.ledger.statuses()[403] == 1  # one refusal, not a retry storm
            with pytest.raises(RateLimited, match="reserve"):
                starved.check()  # the connection stays paused: nothing more is sent
            assert poor.ledger.statuses()[403] == 1
            assert _ids(list(healthy.read("leads", None)))
        finally:
            starved.close()
            healthy.close()


def test_daily_reserve_refuses_to_start_calls(
    sf: SalesforceEmulator, keypair: tuple[str, str]
) -> None:
    conn = _connector(sf, keypair, daily_reserve=99_999)
    try:
        conn.check()  # the first answer reports the allocation
        sent = sf.ledger.total()
        with pytest.raises(RateLimited, match="reserve"):
            conn.check()
        assert sf.ledger.total() == sent
    finally:
        conn.close()


def test_bad_settings_name_the_key(sf: SalesforceEmulator) -> None:
    with pytest.raises(ConfigError) as caught:
        from_settings(
            {
                "instance_url": "http://plain.example",
                "auth": {
                    "kind": "jwt_bearer",
                    "client_id": "x",
                    "username": "u",
                    "private_key_pem": "k",
                },
            }
        )
    assert caught.value.key == "instance_url"
    with pytest.raises(ConfigError) as bad_key:
        from_settings(
            {
                "instance_url": sf.base_url,
                "verify": sf.ca_path,
                "auth": {
                    "kind": "jwt_bearer",
                    "client_id": "x",
                    "username": "u",
                    "private_key_pem": "not a key",
                },
            }
        )
    assert bad_key.value.key == "auth.private_key"
