"""A webhook refresh runs under the same guards as a scheduled sync.

Built exactly as `leadbridge daemon` builds it (`open_webhook_handler` from a config
file): an objection recorded only in leadbridge's own registry (the CRM says nothing)
still clears the person's score when a webhook names them, and every write the refresh
makes is in the audit log under the webhook actor.
"""

from __future__ import annotations

import threading
from pathlib import Path

from leadbridge.audit.log import open_audit_log
from leadbridge.cli.wiring import open_webhook_handler, run_connection
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.privacy.config import load_settings
from leadbridge.privacy.identity import SubjectQuery
from leadbridge.privacy.service import PrivacyService
from leadbridge.sync.config import load_config
from leadbridge.sync.state import open_store
from leadbridge.sync.webhooks.events import InboundEvent

LIMITS = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)


def test_webhook_refresh_honours_objections_and_is_audited(tmp_path: Path) -> None:
    with HubSpotEmulator(generate_portal(60, seed=9), limits=LIMITS) as hs:
        person = hs.portal.create_contact(
            {"email": "olga@objecta.ch", "firstname": "Olga", "jobtitle": "CEO"}
        )
        file = tmp_path / "leadbridge.toml"
        file.write_text(
            f"""
state = "{tmp_path / "state.db"}"
[privacy]
data_dir = "{tmp_path / "privacy"}"
key_dir = "{tmp_path / "keys"}"
[audit]
db = "{tmp_path / "audit.db"}"
key_dir = "{tmp_path / "keys"}"
[[connection]]
name = "hs"
crm = "hubspot"
[connection.settings]
base_url = "{hs.base_url}"
overlap_s = 0
auth = {{ kind = "private_app", token = "{hs.private_app_token}" }}
""",
            encoding="utf-8",
        )
        cfg = load_config(file)
        conn = cfg.connection[0]
        assert run_connection(cfg, conn, config_file=str(file)).status == "ok"
        assert person.properties.get("leadbridge_score") not in (None, "")

        settings = load_settings(file)
        service = PrivacyService.open(settings)
        try:
            result = service.object(SubjectQuery(email="olga@objecta.ch"), actor="dpo")
            assert result.leads_flagged == 1
        finally:
            service.close()
        # The objection was recorded locally; the person's score is still on the CRM.
        assert person.properties.get("leadbridge_score") not in (None, "")
        hs.portal.update_contact(person, {"firstname": "Olga M."})

        store = open_store(cfg.state)
        handler = open_webhook_handler(cfg, conn, config_file=str(file), store=store)
        try:
            event = InboundEvent(key="e-1", action="refresh", object_ids=(str(person.id),))
            outcome = handler.handle([event], threading.Event())
        finally:
            handler.close()
            store.close()
        assert [r.status for r in outcome.reports] == ["ok"]
        assert person.properties.get("leadbridge_score") in (None, "")  # cleared, not rescored

        audit = open_audit_log(settings.audit.db, key_dir=Path(settings.audit.key_dir))
        try:
            entries = audit.read(actor="test", subject=f"hubspot:{person.id}", limit=None)
        finally:
            audit.close()
        by_webhook = [e for e in entries if e.actor == "leadbridge-webhook"]
        assert [e.kind for e in by_webhook] == ["crm_write"]
        assert "objection" in by_webhook[0].reason
