"""A real sync (HubSpot emulator over HTTP, connector, rules scorer) on each engine.

State and audit share one database, as a PostgreSQL deployment runs them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from leadbridge.audit import AuditKeys, AuditLog, verify
from leadbridge.connectors import create_connector
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FAST_LIMITS = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
FAST_BUDGETS = {"default": (100_000, 10.0), "search": (10_000, 1.0)}


def test_full_then_incremental_sync_with_audit(db_url: str, tmp_path: Path) -> None:
    portal = generate_portal(400, seed=5, now=AS_OF)
    with HubSpotEmulator(portal, limits=FAST_LIMITS) as hs:
        store = open_store(db_url)
        audit = AuditLog.open(db_url, AuditKeys.from_dir(tmp_path / "keys", env={}))
        connector = create_connector(
            "hubspot",
            {
                "base_url": hs.base_url,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
                "budgets": FAST_BUDGETS,
                "overlap_s": 0,
            },
        )
        engine = SyncEngine(
            connector,
            RulesScorer(load_config("omnichannel")),
            store,
            connection="hs",
            clock=lambda: AS_OF,
            audit=audit,
            write_workers=4,
        )
        try:
            full = engine.run()
            assert full.status == "ok", full.errors
            assert full.leads_scored == store.count_leads("hs") > 300
            live = [r for r in list(hs.portal.contacts.records.values()) if not r.archived]
            scored = {
                str(r.id): r.properties["leadbridge_score"]
                for r in live
                if r.properties.get("leadbridge_score") not in (None, "")
            }
            assert len(scored) == full.leads_written > 0
            assert store.written_values("hs").keys() == scored.keys()
            assert store.dirty_keys("hs") == []
            assert store.bookmark("hs", "contacts") is not None  # committed after the writes
            assert len(store.dead_letters("hs")) == full.rejects + full.write_failures

            hs.ledger.reset()
            changed = hs.mutate(0.05, seed=3)
            incremental = engine.run()
            assert incremental.status == "ok", incremental.errors
            assert incremental.mode == "incremental"
            assert {w.object_id for w in hs.ledger.writes()} <= set(changed)
            assert engine.run().leads_written == 0
            assert [r["status"] for r in store.runs("hs")] == ["ok", "ok", "ok"]
            assert audit.size() >= full.leads_written
            assert verify(audit, public_key=audit.verifier_key).ok
        finally:
            connector.close()
            audit.close()
            store.close()
