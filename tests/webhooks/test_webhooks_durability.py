"""Acknowledged means durable: a receiver killed right after its 2xx loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson

from leadbridge.sync.state import open_store
from leadbridge.sync.webhooks.dispatcher import Dispatcher
from leadbridge.sync.webhooks.queue import open_queue

RECEIVER = """
import sys, time
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Daemon, WebhookSetup
from leadbridge.sync.state import open_store
from leadbridge.sync.webhooks.config import ServiceSettings, WebhookSettings
from leadbridge.sync.webhooks.queue import open_queue
from leadbridge.sync.webhooks.receivers import Endpoint

store = open_store(sys.argv[1])
queue = open_queue(store.engine.url)
daemon = Daemon(
    [ConnectionConfig(name="hs", crm="hubspot", every_minutes=600)],
    lambda c, s: None,
    service=ServiceSettings(port=0),
    webhooks=WebhookSetup(
        queue, [Endpoint("hs", "hubspot", WebhookSettings(), sys.argv[2])], lambda c: None
    ),
    store=store,
    dispatch=False,  # acknowledge only: the process dies before processing anything
)
daemon.start(run_now=False)
print(daemon.base_url, flush=True)
time.sleep(600)
"""


def test_an_acknowledged_event_survives_a_kill_and_is_processed_after_restart(
    hubspot: Any, kit: Any, tmp_path: Path
) -> None:
    hubspot.ledger.reset()
    state = tmp_path / "state.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(state), kit.secret],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        url = f"{base}/webhooks/hs"
        body = orjson.dumps(
            [{"eventId": 5001, "subscriptionType": "contact.creation", "objectId": 105}]
        )
        response = httpx.post(url, content=body, headers=kit.sign(url, body), timeout=10)
        assert response.status_code == 200
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert kit.written_ids(hubspot) == set()

    # A new process (here: this one) finds the event and processes it.
    store = open_store(state)
    queue = open_queue(store.engine.url)
    try:
        assert queue.statuses("hs") == {"pending": 1}
        handler = kit.hubspot_refresher(hubspot, store)
        dispatcher = Dispatcher(queue, lambda name: handler, lambda name: threading.Lock())
        assert dispatcher.run_once() == 1
        assert kit.written_ids(hubspot) == {"105"}
        assert queue.statuses("hs") == {"done": 1}
        handler.close()
    finally:
        queue.close()
        store.close()


def test_a_poison_event_is_retried_then_dead_lettered(
    hubspot: Any, kit: Any, tmp_path: Path
) -> None:
    rig = kit.Rig(hubspot, tmp_path, max_attempts=2, token="pat-na1-revoked-token")
    try:
        body = orjson.dumps(
            [{"eventId": 9001, "subscriptionType": "contact.creation", "objectId": 106}]
        )
        assert rig.post(body).status_code == 200
        assert kit.wait_for(lambda: rig.queue.statuses("hs") == {"dead": 1}, timeout_s=20)
        (row,) = rig.queue.rows("hs")
        assert row["attempts"] == 1  # one retry after the first failure, then given up
        assert "AuthError" in row["last_error"]
        letters = rig.store.dead_letters("hs")
        assert [(d.stream, d.record_id) for d in letters] == [("webhook", "hubspot:9001")]
        metrics = rig.http.get(f"{rig.daemon.base_url}/metrics").text
        assert 'leadbridge_dead_letters_total{connection="hs",kind="webhook"} 1.0' in metrics
        assert 'leadbridge_webhook_queue_events{connection="hs",status="dead"} 1.0' in metrics
    finally:
        rig.close()
