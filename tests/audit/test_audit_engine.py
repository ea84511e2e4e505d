"""The sync engine writes its audit trail through `AuditLog` (HubSpot emulator, real HTTP)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from leadbridge.audit import AuditLog, verify
from leadbridge.connectors import create_connector
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_engine_run_is_fully_audited_and_verifies(tmp_path: Path, audit_keys) -> None:
    portal = generate_portal(300, seed=11, now=AS_OF)
    limits = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
    anchors = tmp_path / "anchors"
    # the audit tables share the state database, as a deployment would
    store = open_store(tmp_path / "state.db")
    audit = AuditLog(store.engine, audit_keys, export_dir=anchors, checkpoint_every=100)
    with HubSpotEmulator(portal, limits=limits) as hs:
        connector = create_connector(
            "hubspot",
            {
                "base_url": hs.base_url,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
                "budgets": {"default": (100_000, 10.0), "search": (10_000, 1.0)},
                "overlap_s": 0,
            },
        )
        scorer = RulesScorer(load_config("omnichannel"))
        engine = SyncEngine(
            connector, scorer, store, connection="hs", clock=lambda: AS_OF, audit=audit
        )
        try:
            report = engine.run()
        finally:
            connector.close()
    assert report.status == "ok", report.errors
    assert report.leads_written > 0
    audit.close()

    entries = AuditLog(store.engine, audit_keys).read(actor="test", limit=None, decrypt=True)
    kinds = Counter(e.kind for e in entries)
    assert kinds["crm_write"] == report.leads_written
    assert kinds["score_change"] == report.leads_written
    assert all(e.subject and len(e.subject) == 32 for e in entries)  # pseudonyms only
    writes = [e for e in entries if e.kind == "crm_write"]
    assert all(e.personal_state == "decrypted" for e in writes)
    assert all("leadbridge_score" in e.details["fields"] for e in writes)
    assert {e.personal["record_id"] for e in writes} <= set(map(str, portal.contacts.records))
    scores = [e for e in entries if e.kind == "score_change"]
    assert all(e.details["config_version"] for e in scores)

    result = verify(AuditLog(store.engine, None, create=False), external_checkpoints_dir=anchors)
    assert result.ok, result.problems
    # the read above was itself audited; it is chained but not yet under a checkpoint
    assert result.head_seq == 2 * report.leads_written + 1
    assert result.anchored_size == 2 * report.leads_written
