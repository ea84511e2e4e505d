"""Objection to profiling end to end with the HubSpot emulator (GDPR Art. 21)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadbridge.audit import AuditKeys, AuditLog
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.privacy.config import parse_settings
from leadbridge.privacy.identity import Fingerprinter, SubjectQuery
from leadbridge.privacy.ropa import build_record
from leadbridge.privacy.service import PrivacyService, connector_factory
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLAG = "leadbridge_objects_to_profiling"


@pytest.fixture
def hs():
    limits = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
    with HubSpotEmulator(generate_portal(30, seed=8), limits=limits) as emu:
        yield emu


def service_for(tmp: Path, hs: HubSpotEmulator, audit: AuditLog) -> PrivacyService:
    settings = parse_settings(
        {
            "state": str(tmp / "state.db"),
            "connection": [{"name": "hs", "crm": "hubspot", "settings": {
                "base_url": hs.base_url, "overlap_s": 0, "objection_property": FLAG,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
                "budgets": {"default": [100_000, 10.0], "search": [10_000, 1.0]}}}],
        },
        file=tmp / "leadbridge.toml",
    )  # fmt: skip
    return PrivacyService(
        store=open_store(settings.base.state),
        fingerprints=Fingerprinter(b"o" * 32),
        record=build_record(settings),
        connectors=connector_factory(settings),
        audit=audit,
        data_dir=tmp / "privacy",
        objection_fields={"hs": FLAG},
        settings=settings,
    )


def sync(service: PrivacyService, audit: AuditLog):
    connector = service.connectors("hs")
    engine = SyncEngine(
        connector,
        RulesScorer(load_config("omnichannel")),
        service.store,
        connection="hs",
        audit=audit,
        clock=lambda: AS_OF,
        page_filter=service.filter(connector.name),
    )
    try:
        report = engine.run()
    finally:
        engine.connector.close()
    assert report.status == "ok", report.errors
    return report


def test_objection_clears_the_score_keeps_it_cleared_and_travels_with_the_lead(tmp_path, hs):
    record = hs.portal.create_contact(
        {"email": "objector@example.ch", "firstname": "Olga", "lastname": "Objecta",
         "jobtitle": "CEO", "company": "Objecta AG"}
    )  # fmt: skip
    audit = AuditLog.open(tmp_path / "audit.db", AuditKeys.from_dir(tmp_path / "keys", env={}))
    service = service_for(tmp_path, hs, audit)
    sync(service, audit)
    assert record.properties.get("leadbridge_score") not in (None, "")
    others = {
        r.id: r.properties.get("leadbridge_score")
        for r in hs.portal.contacts.records.values()
        if r.id != record.id
    }

    result = service.object(SubjectQuery(email="OBJECTOR@example.ch"), actor="dpo")
    assert result.records_found == 1
    assert result.leads_flagged == 1
    assert [(f.field, f.ok) for f in result.crm_flags] == [(FLAG, True)]
    assert record.properties[FLAG] == "true"  # the flag travels with the lead in the CRM

    report = sync(service, audit)
    assert report.leads_written >= 1
    assert record.properties.get("leadbridge_score") in (None, "")
    assert record.properties.get("leadbridge_tier") in (None, "")
    unchanged = {
        r.id: r.properties.get("leadbridge_score")
        for r in hs.portal.contacts.records.values()
        if r.id != record.id
    }
    assert unchanged == others  # nobody else lost their score
    key = f"hubspot:{record.id}"
    cleared = [e for e in audit.read(actor="test", subject=key, decrypt=True, limit=None)
               if e.kind == "crm_write" and "objection" in e.reason]  # fmt: skip
    assert len(cleared) == 1
    assert cleared[0].personal["new"]["leadbridge_score"] == ""

    # The CRM field is reset by someone: the local objection list still holds.
    hs.portal.update_contact(record, {FLAG: "false"})
    again = sync(service, audit)
    assert again.leads_pulled >= 1  # the edit was pulled...
    assert record.properties.get("leadbridge_score") in (None, "")  # ...and nothing scored
    (held,) = service.holdings(SubjectQuery(lead_keys=(key,)))
    assert held.lead.consent.objects_to_profiling is True

    service.object(SubjectQuery(lead_keys=(key,)), actor="dpo", withdraw=True)
    sync(service, audit)
    assert record.properties.get("leadbridge_score") not in (None, "")
    service.close()
