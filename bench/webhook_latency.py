"""Webhook → score written back: latency on loopback emulators, against polling.

A HubSpot emulator holds `--leads` contacts, fully synced first. Each sample edits one
contact's job title through the API (which moves its fit score by 10 points), then:

- **webhook**: posts the signed ``contact.propertyChange`` event to the daemon, and
  times POST → the score write landing in the emulator's ledger;
- **polling** (baseline, same run): an incremental sync loops back to back with
  `--poll-interval` seconds between runs, and the edit → write time is measured.

    python bench/webhook_latency.py --leads 2000 --events 100 --poll-events 20
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.hubspot.lookup import read_contacts
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Daemon, WebhookSetup
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import StateStore, open_store
from leadbridge.sync.webhooks.config import ServiceSettings, WebhookSettings
from leadbridge.sync.webhooks.queue import open_queue
from leadbridge.sync.webhooks.receivers import Endpoint
from leadbridge.sync.webhooks.refresh import LeadRefresher
from leadbridge.sync.webhooks.signatures import hubspot_v3_signature

SECRET = "bench-client-secret"
TITLES = ("HR Director", "Software Engineer")


def _connector(hs: HubSpotEmulator) -> HubSpotConnector:
    return HubSpotConnector.from_mapping(
        {
            "base_url": hs.base_url,
            "auth": {"kind": "private_app", "token": hs.private_app_token},
            "budgets": {"default": [100_000, 10.0], "search": [10_000, 1.0]},
            "overlap_s": 0,
        }
    )


def _score_writes(hs: HubSpotEmulator, contact: str) -> int:
    return sum(
        1
        for w in hs.ledger.writes()
        if w.object_id == contact and w.status < 300 and "leadbridge_score" in w.properties
    )


def _edit(client: httpx.Client, hs: HubSpotEmulator, contact: str, title: str) -> None:
    response = client.patch(
        f"{hs.base_url}/crm/v3/objects/contacts/{contact}",
        json={"properties": {"jobtitle": title}},
        headers={"Authorization": f"Bearer {hs.private_app_token}"},
    )
    response.raise_for_status()


def _wait_write(hs: HubSpotEmulator, contact: str, before: int, timeout_s: float) -> float | None:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if _score_writes(hs, contact) > before:
            return time.perf_counter()
        time.sleep(0.001)
    return None


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _summary(name: str, values: list[float]) -> dict[str, float | int | str]:
    return {
        "path": name,
        "n": len(values),
        "p50_ms": round(_pct(values, 50) * 1000, 1),
        "p95_ms": round(_pct(values, 95) * 1000, 1),
        "p99_ms": round(_pct(values, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def _webhooks(
    hs: HubSpotEmulator, store: StateStore, contacts: list[str], events: int
) -> tuple[list[float], list[float]]:
    queue = open_queue(store.engine.url)

    def open_handler(conn: ConnectionConfig) -> LeadRefresher:
        connector = _connector(hs)
        return LeadRefresher(
            connector,
            RulesScorer(load_config("omnichannel")),
            store,
            connection=conn.name,
            lookup=functools.partial(read_contacts, connector),
        )

    daemon = Daemon(
        [ConnectionConfig(name="hs", crm="hubspot", every_minutes=600, jitter_s=0)],
        lambda c, s: SyncEngine(
            _connector(hs), RulesScorer(load_config("omnichannel")), store, connection="hs"
        ).run(),
        service=ServiceSettings(port=0),
        webhooks=WebhookSetup(
            queue, [Endpoint("hs", "hubspot", WebhookSettings(), SECRET)], open_handler
        ),
        store=store,
    )
    daemon.start(run_now=False)
    url = f"{daemon.base_url}/webhooks/hs"
    end_to_end: list[float] = []
    acks: list[float] = []
    with httpx.Client(timeout=30) as client:
        for i in range(events):
            contact = contacts[i % len(contacts)]
            before = _score_writes(hs, contact)
            _edit(client, hs, contact, TITLES[(i // len(contacts)) % 2])
            body = orjson.dumps(
                [
                    {
                        "eventId": 10_000 + i,
                        "subscriptionType": "contact.propertyChange",
                        "objectId": int(contact),
                        "propertyName": "jobtitle",
                        "attemptNumber": 0,
                        "occurredAt": int(time.time() * 1000),
                    }
                ]
            )
            stamp = str(int(time.time() * 1000))
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Signature-v3": hubspot_v3_signature(SECRET, "POST", url, body, stamp),
                "X-HubSpot-Request-Timestamp": stamp,
            }
            t0 = time.perf_counter()
            response = client.post(url, content=body, headers=headers)
            acks.append(time.perf_counter() - t0)
            response.raise_for_status()
            done = _wait_write(hs, contact, before, 30.0)
            if done is None:
                raise SystemExit(f"webhook for contact {contact} never produced a write")
            end_to_end.append(done - t0)
    daemon.stop()
    queue.close()
    return end_to_end, acks


def _polling(
    hs: HubSpotEmulator, store: StateStore, contacts: list[str], events: int, interval_s: float
) -> tuple[list[float], list[float]]:
    stop = threading.Event()
    durations: list[float] = []
    connector = _connector(hs)
    engine = SyncEngine(
        connector,
        RulesScorer(load_config("omnichannel")),
        store,
        connection="hs",
        decay_sweep_s=None,
    )

    def loop() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            report = engine.run()
            if report.status != "ok":
                print(f"polling run {report.status}: {report.errors[:3]}")
            durations.append(time.perf_counter() - t0)
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    latencies: list[float] = []
    rng = random.Random(7)
    with httpx.Client(timeout=30) as client:
        for i in range(events):
            contact = contacts[-(i % len(contacts)) - 1]
            time.sleep(rng.uniform(0, max(interval_s, 0.2)))  # edits land anywhere in the cycle
            before = _score_writes(hs, contact)
            t0 = time.perf_counter()
            _edit(client, hs, contact, TITLES[(i // len(contacts)) % 2])
            done = _wait_write(hs, contact, before, 120.0)
            if done is None:
                raise SystemExit(f"polling never wrote contact {contact}")
            latencies.append(done - t0)
    stop.set()
    thread.join()
    connector.close()
    return latencies, durations


def _movable(store: StateStore) -> list[str]:
    """Contacts whose score a job-title edit moves (fit points apply, not disqualified)."""
    hr = ("hr", "human resources", "ressources humaines", "drh", "rh", "personal")
    records = store.load_leads("hs", [f"hubspot:{i}" for i in store.source_ids("hs")])
    keep = []
    for record in records.values():
        lead = record.lead
        title = (lead.job_title or "").lower()
        if lead.consent.objects_to_profiling or any(k in title for k in hr):
            continue
        if lead.company_size is not None and lead.company_size <= 10:
            continue
        keep.append(record.source_id)
    return sorted(keep, key=int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--poll-events", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    args = parser.parse_args()
    limits = HubSpotLimits(burst_per_10s=1_000_000, search_per_s=100_000, daily=100_000_000)
    with (
        tempfile.TemporaryDirectory() as tmp,
        HubSpotEmulator(generate_portal(args.leads, seed=42), limits=limits) as hs,
    ):
        store = open_store(Path(tmp) / "state.db")
        t0 = time.perf_counter()
        full = SyncEngine(
            _connector(hs), RulesScorer(load_config("omnichannel")), store, connection="hs"
        ).run()
        print(
            f"initial full sync: {full.leads_written} written in {time.perf_counter() - t0:.1f} s"
        )
        ids = _movable(store)
        hook, acks = _webhooks(hs, store, ids[:50], args.events)
        poll, runs = _polling(hs, store, ids[-50:], args.poll_events, args.poll_interval)
        results = [
            _summary("webhook POST -> score written", hook),
            _summary("webhook POST -> 200 (queued)", acks),
            _summary(f"polling every {args.poll_interval:g} s: edit -> score written", poll),
            _summary("one incremental sync run", runs),
        ]
        store.close()
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
