"""Shared pieces: a HubSpot emulator, a daemon serving webhooks for it, signing helpers."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.hubspot.lookup import read_contacts
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Daemon, WebhookSetup
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.state import StateStore, open_store
from leadbridge.sync.webhooks.config import ServiceSettings, WebhookSettings
from leadbridge.sync.webhooks.queue import EventQueue, open_queue
from leadbridge.sync.webhooks.receivers import Endpoint
from leadbridge.sync.webhooks.refresh import LeadRefresher
from leadbridge.sync.webhooks.signatures import hubspot_v3_signature

SECRET = "hubspot-client-secret-for-tests"
LIMITS = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)


def hubspot_settings(hs: HubSpotEmulator, token: str | None = None) -> dict[str, object]:
    return {
        "base_url": hs.base_url,
        "auth": {"kind": "private_app", "token": token or hs.private_app_token},
        "budgets": {"default": [100_000, 10.0], "search": [10_000, 1.0]},
        "overlap_s": 0,
    }


def hubspot_refresher(
    hs: HubSpotEmulator, store: StateStore, name: str = "hs", token: str | None = None
) -> LeadRefresher:
    connector = HubSpotConnector.from_mapping(hubspot_settings(hs, token))
    return LeadRefresher(
        connector,
        RulesScorer(load_config("omnichannel")),
        store,
        connection=name,
        lookup=functools.partial(read_contacts, connector),
    )


def sign(
    url: str, body: bytes, *, secret: str = SECRET, at_ms: int | None = None
) -> dict[str, str]:
    stamp = str(at_ms if at_ms is not None else int(time.time() * 1000))
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": hubspot_v3_signature(secret, "POST", url, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }


def written_ids(hs: HubSpotEmulator) -> set[str]:
    return {w.object_id for w in hs.ledger.writes() if w.status < 300}


def wait_for(predicate: Callable[[], object], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


class HubSpotRig:
    """A daemon (no schedule runs) serving HubSpot webhooks against an emulator."""

    def __init__(
        self, hs: HubSpotEmulator, tmp: Path, *, max_attempts: int = 8, token: str | None = None
    ) -> None:
        self.hs = hs
        self.store = open_store(tmp / "state.db")
        self.queue: EventQueue = open_queue(self.store.engine.url)
        self.conn = ConnectionConfig(name="hs", crm="hubspot", every_minutes=600, jitter_s=0)
        endpoint = Endpoint("hs", "hubspot", WebhookSettings(max_attempts=max_attempts), SECRET)
        self.daemon = Daemon(
            [self.conn],
            self._never,
            service=ServiceSettings(port=0),
            webhooks=WebhookSetup(
                self.queue, [endpoint], lambda c: hubspot_refresher(hs, self.store, c.name, token)
            ),
            store=self.store,
        )
        self.daemon.start(run_now=False)
        assert self.daemon.base_url is not None
        self.url = f"{self.daemon.base_url}/webhooks/hs"
        self.http = httpx.Client(timeout=10)

    @staticmethod
    def _never(conn: ConnectionConfig, stop: object) -> SyncReport:
        raise AssertionError("the schedule does not run in these tests")

    def written(self) -> set[str]:
        return written_ids(self.hs)

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(self.url, content=body, headers=headers or sign(self.url, body))

    def close(self) -> None:
        self.http.close()
        self.daemon.stop()
        self.queue.close()
        self.store.close()


class Kit:
    """The helpers above, for test modules (conftest is not importable by name)."""

    secret = SECRET
    sign = staticmethod(sign)
    wait_for = staticmethod(wait_for)
    written_ids = staticmethod(written_ids)
    hubspot_settings = staticmethod(hubspot_settings)
    hubspot_refresher = staticmethod(hubspot_refresher)
    Rig = HubSpotRig


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(generate_portal(60, seed=11), limits=LIMITS) as hs:
        yield hs


@pytest.fixture
def rig(hubspot: HubSpotEmulator, tmp_path: Path) -> Iterator[HubSpotRig]:
    hubspot.ledger.reset()
    rig = HubSpotRig(hubspot, tmp_path)
    yield rig
    rig.close()
