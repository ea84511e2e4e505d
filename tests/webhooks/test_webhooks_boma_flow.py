"""Seed 001: a new BOMA message is analysed, posted back with its routing, and scored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from leadbridge.cli.wiring import boma_message_action
from leadbridge.connectors.rest.connector import profile_factory
from leadbridge.emulators.boma import BomaEmulator, generate_boma
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Daemon, WebhookSetup
from leadbridge.sync.state import open_store
from leadbridge.sync.webhooks.config import ServiceSettings, WebhookSettings
from leadbridge.sync.webhooks.queue import open_queue
from leadbridge.sync.webhooks.receivers import Endpoint
from leadbridge.sync.webhooks.refresh import LeadRefresher
from leadbridge.sync.webhooks.signatures import leadbridge_signature

SECRET = "boma-hook-secret"


@pytest.fixture
def boma() -> Iterator[BomaEmulator]:
    with BomaEmulator(generate_boma(30, seed=5)) as emu:
        yield emu


def test_a_message_is_analysed_posted_and_its_lead_scored(
    boma: BomaEmulator, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "state.db")
    queue = open_queue(store.engine.url)
    settings = {
        "profile": "boma",
        "base_url": boma.base_url + "/v1",
        "client_id": boma.client_id,
        "client_secret": boma.client_secret,
    }

    def open_handler(conn: ConnectionConfig) -> Any:
        connector = profile_factory("boma")(settings)
        return LeadRefresher(
            connector,
            RulesScorer(load_config("mortgage_broker")),
            store,
            connection=conn.name,
            messages=boma_message_action(connector),
        )

    conn = ConnectionConfig(name="boma", crm="boma", every_minutes=600, jitter_s=0)
    daemon = Daemon(
        [conn],
        lambda c, s: pytest.fail("no scheduled runs"),
        service=ServiceSettings(port=0),
        webhooks=WebhookSetup(
            queue, [Endpoint("boma", "boma", WebhookSettings(), SECRET)], open_handler
        ),
        store=store,
    )
    daemon.start(run_now=False)
    lead_id = str(min(boma.store.leads))
    body = orjson.dumps(
        {
            "message_id": "wa-1",
            "lead_id": lead_id,
            "lead_source": "Whatsapp_Business",
            "message_body": "Bonjour, je suis infirmier en CDI et je cherche un prêt de "
            "250 000 euros pour une maison, j'ai 50k d'apport.",
        }
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Leadbridge-Timestamp": stamp,
        "X-Leadbridge-Signature": leadbridge_signature(SECRET, body, stamp),
    }
    try:
        t0 = time.monotonic()
        assert (
            httpx.post(
                f"{daemon.base_url}/webhooks/boma", content=body, headers=headers
            ).status_code
            == 200
        )

        def patched() -> bool:
            return any(
                w.endpoint.startswith("PATCH") and w.object_id == lead_id
                for w in boma.ledger.writes()
            )

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not patched():
            time.sleep(0.05)
        assert patched(), "the lead's score was not written"
        assert time.monotonic() - t0 < 20  # "within seconds" (measured in bench/)
        posts = [w for w in boma.ledger.writes() if w.endpoint == "POST /v1/messages"]
        assert len(posts) == 1
        payload = posts[0].payload
        assert payload["lead_id"] == lead_id
        assert payload["lead_source"] == "Whatsapp_Business"
        assert payload["extracted_data"]["job_status"] == "permanent"
        assert payload["extracted_data"]["down_payment"] == 50000
        assert payload["extracted_data"]["requested_amount"] == 250000
        assert payload["routing_action"] in {
            "assign_to_human",
            "assign_to_human_now",
            "nurture_bot",
        }
        assert isinstance(payload["ai_score"], int)
        while time.monotonic() < deadline and queue.statuses("boma") != {"done": 1}:
            time.sleep(0.05)
        assert queue.statuses("boma") == {"done": 1}
        assert lead_id in store.written_values("boma")
    finally:
        daemon.stop()
        queue.close()
        store.close()
