"""HubSpot connector under bad days: throttling, 5xx, malformed bodies, secrets, OAuth."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from leadbridge.connectors.hubspot import SCORE_FIELDS, HubSpotConnector
from leadbridge.core.auth import MemoryTokenPersister
from leadbridge.core.errors import AuthError, LeadbridgeError, MalformedResponse
from leadbridge.core.models import ScoreWrite
from leadbridge.emulators.hubspot import (
    HubSpotEmulator,
    HubSpotFaults,
    HubSpotLimits,
    generate_portal,
)

GENERATED_AT = datetime.now(UTC) - timedelta(days=1)
FAST_SEARCH = {"default": (100, 10.0), "search": (40, 1.0)}


def _connector(hs: HubSpotEmulator, token: str | None = None, **extra: object) -> HubSpotConnector:
    settings = {
        "base_url": hs.base_url,
        "auth": {"kind": "private_app", "token": token or hs.private_app_token},
        "budgets": FAST_SEARCH,
        "search_page_size": 50,
        "activity_source": "events",  # no Events API probe: a 429 there costs a 10 s window
        **extra,
    }
    return HubSpotConnector.from_mapping(settings)


def _lead_ids(connector: HubSpotConnector) -> set[str]:
    ids: set[str] = set()
    for page in connector.read("contacts", None):
        ids |= {lead.source_ids["hubspot"] for lead in page.leads}
        ids |= {r.record_id or "" for r in page.rejects}
    return ids


@pytest.fixture(scope="module")
def portal():
    return generate_portal(250, seed=21, now=GENERATED_AT)


def test_429_storm_still_completes_with_correct_data(portal):
    faults = HubSpotFaults(rate_429=0.3, seed=4)
    limits = HubSpotLimits(search_per_s=40)
    with HubSpotEmulator(portal, limits=limits, faults=faults) as hs:
        connector = _connector(hs)
        try:
            assert _lead_ids(connector) == {str(i) for i in portal.contacts.by_id}
            assert hs.ledger.statuses().get(429, 0) >= 1
            assert connector.api.http.counter.throttled == hs.ledger.statuses()[429]
        finally:
            connector.close()


def test_5xx_storm_still_completes_reads_and_writes(portal):
    faults = HubSpotFaults(rate_5xx=0.3, seed=9)
    with HubSpotEmulator(portal, limits=HubSpotLimits(search_per_s=40), faults=faults) as hs:
        connector = _connector(hs, search_page_size=200)
        try:
            assert _lead_ids(connector) == {str(i) for i in portal.contacts.by_id}
            engagements = [a for p in connector.read("engagements", None) for a in p.activities]
            assert engagements
            connector.ensure_fields(SCORE_FIELDS)
            ids = [str(i) for i in portal.contacts.by_id[:40]]
            result = connector.write(
                [
                    ScoreWrite(
                        source_id=i, lead_key=f"hubspot:{i}", values={"leadbridge_score": 55}
                    )
                    for i in ids
                ]
            )
            assert set(result.succeeded) == set(ids)
            assert sum(n for s, n in hs.ledger.statuses().items() if s >= 500) >= 1
        finally:
            connector.close()


@pytest.mark.parametrize("kind", ["truncated_json", "html_error", "wrong_types"])
def test_malformed_bodies_give_one_line_errors(portal, kind):
    faults = HubSpotFaults(malformed=1.0, malformed_kinds=(kind,), seed=2)
    with HubSpotEmulator(portal, limits=HubSpotLimits(search_per_s=40), faults=faults) as hs:
        connector = _connector(hs)
        try:
            for stream in ("contacts", "archived"):
                with pytest.raises(MalformedResponse) as info:
                    list(connector.read(stream, None))
                message = str(info.value)
                assert "\n" not in message
                assert message.startswith("hubspot:")
                assert len(message) < 400
                if kind == "html_error":
                    assert "HTML page" in message
                if kind == "truncated_json":
                    assert "invalid JSON" in message
        finally:
            connector.close()


def test_occasional_malformed_pages_fail_cleanly_or_pass(portal):
    faults = HubSpotFaults(malformed=0.2, seed=13)
    with HubSpotEmulator(portal, limits=HubSpotLimits(search_per_s=40), faults=faults) as hs:
        connector = _connector(hs)
        try:
            outcomes = []
            for _ in range(3):
                try:
                    outcomes.append(_lead_ids(connector))
                except MalformedResponse as exc:
                    outcomes.append(str(exc))
            for outcome in outcomes:
                if isinstance(outcome, str):
                    assert "\n" not in outcome
                    assert outcome.startswith("hubspot:")
                else:
                    assert outcome <= {str(i) for i in portal.contacts.by_id}
        finally:
            connector.close()


def test_secrets_never_reach_errors_or_logs(portal, caplog):
    secret = "pat-na1-0badc0de-1234-5678-9abc-def012345678"
    caplog.set_level(logging.DEBUG)
    with HubSpotEmulator(portal, private_app_token=secret) as hs:
        wrong = _connector(hs, token="pat-na1-not-the-right-token-99999")
        with pytest.raises(AuthError) as info:
            wrong.check()
        wrong.close()
        assert "not-the-right-token" not in str(info.value)
        assert "\n" not in str(info.value)
        good = _connector(hs, token=secret)
        try:
            good.check()
            list(good.read("contacts", None))
        finally:
            good.close()
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert secret not in logged
    assert "not-the-right-token" not in logged
    assert "0badc0de" not in logged


def test_bad_config_is_a_config_error_naming_the_key():
    from leadbridge.connectors import create_connector
    from leadbridge.core.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        create_connector("hubspot", {"auth": {"kind": "private_app"}})
    assert info.value.key == "auth.private_app.token"
    with pytest.raises(ConfigError) as info:
        create_connector("hubspot", {"auth": {"kind": "private_app", "token": "x"},
                                     "overlap_s": -5})  # fmt: skip
    assert info.value.key == "overlap_s"
    with pytest.raises(ConfigError) as info:
        create_connector("nosuchcrm", {})
    assert info.value.key == "connector"
    with pytest.raises(ConfigError) as info:
        create_connector("hubspot", {"auth": {"kind": "oauth", "client_id": "c",
                                              "client_secret": "s"}})  # fmt: skip
    assert info.value.key == "auth"  # OAuth needs a token persister


# -- OAuth ----------------------------------------------------------------------------


def _oauth_connector(hs: HubSpotEmulator, persister: MemoryTokenPersister) -> HubSpotConnector:
    return HubSpotConnector.from_mapping(
        {
            "base_url": hs.base_url,
            "auth": {
                "kind": "oauth",
                "client_id": hs.oauth_client_id,
                "client_secret": hs.oauth_client_secret,
                "token_url": f"{hs.base_url}/oauth/v1/token",
                "authorize_url": f"{hs.base_url}/oauth/authorize",
                "redirect_uri": "http://127.0.0.1:8765/oauth/callback",
            },
            "budgets": FAST_SEARCH,
        },
        persister=persister,
    )


def _authorize(hs: HubSpotEmulator, connector: HubSpotConnector) -> None:
    request = connector.authorization_request()
    query = parse_qs(urlsplit(request.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0]
    redirect = httpx.get(request.url, follow_redirects=False)
    assert redirect.status_code == 302
    callback = parse_qs(urlsplit(redirect.headers["location"]).query)
    connector.complete_authorization(request, code=callback["code"][0], state=callback["state"][0])


def test_oauth_code_flow_with_pkce_then_refresh_and_401_recovery(portal):
    with HubSpotEmulator(portal, limits=HubSpotLimits(search_per_s=40)) as hs:
        persister = MemoryTokenPersister()
        connector = _oauth_connector(hs, persister)
        try:
            _authorize(hs, connector)
            assert persister.token is not None
            assert persister.token.refresh_token
            connector.check()
            source = connector.api.token_source
            assert source is not None
            assert source.refreshes == 0
            # expired server-side: one 401, one refresh, the call is re-sent
            hs.faults.expire_tokens = True
            assert _lead_ids(connector) == {str(i) for i in portal.contacts.by_id}
            assert source.refreshes == 1
            assert hs.ledger.statuses()[401] == 1
        finally:
            connector.close()


def test_oauth_refresh_before_expiry_is_single_flight(portal):
    with HubSpotEmulator(portal) as hs:
        first = MemoryTokenPersister()
        seed = _oauth_connector(hs, first)
        _authorize(hs, seed)
        seed.close()
        assert first.token is not None
        stale = first.token.model_copy(update={"expires_at": time.time() + 30})
        persister = MemoryTokenPersister(stale)
        connector = _oauth_connector(hs, persister)
        token_calls = hs.ledger.counts()["POST /oauth/v1/token"]
        barrier = threading.Barrier(16)
        errors: list[BaseException] = []

        def work() -> None:
            barrier.wait()
            try:
                connector.check()
            except LeadbridgeError as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        try:
            assert not errors
            source = connector.api.token_source
            assert source is not None
            assert source.refreshes == 1
            assert hs.ledger.counts()["POST /oauth/v1/token"] == token_calls + 1
            assert persister.token is not None
            assert persister.token.access_token != stale.access_token
            assert persister.token.expires_at is not None
            assert persister.token.expires_at > time.time() + 1000
        finally:
            connector.close()
