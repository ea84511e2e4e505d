"""Export contents, retention and the record of processing, on a local state store."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadbridge.audit import AuditKeys, AuditLog
from leadbridge.cli.privacy import register
from leadbridge.core.models import Activity, AuditEvent, Channel, Lead, Page, Reason, ScoreResult
from leadbridge.privacy.config import RetentionPolicy, load_settings, parse_settings
from leadbridge.privacy.csvsafe import read_csv
from leadbridge.privacy.identity import Fingerprinter, SubjectQuery
from leadbridge.privacy.registry import PrivacyRegistry
from leadbridge.privacy.retention import enforce_retention
from leadbridge.privacy.ropa import build_record, render_markdown
from leadbridge.privacy.service import PrivacyService
from leadbridge.sync.state import open_store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _lead(i: int, name: str = "Ana", updated: datetime = NOW) -> Lead:
    return Lead(key=f"hubspot:{i}", source_ids={"hubspot": str(i)}, email=f"p{i}@example.ch",
                first_name=name, last_name="Muster", phone="+41 79 000 00 0" + str(i % 10),
                updated_at=updated)  # fmt: skip


def _score(key: str, at: datetime, score: int = 70) -> ScoreResult:
    return ScoreResult(
        lead_key=key, score=score, tier="hot", action="call", summary="pricing x3",
        reasons=(Reason(rule="pricing_page", points=30, count=3, decay_factor=0.8),),
        config_version="omnichannel@3", model_version=None, computed_at=at,
    )  # fmt: skip


@pytest.fixture
def service(tmp_path: Path):
    settings = parse_settings(
        {"state": str(tmp_path / "state.db"),
         "privacy": {"controller": "Quill SA", "data_dir": str(tmp_path / "privacy")}},
        file=tmp_path / "leadbridge.toml",
    )  # fmt: skip
    audit = AuditLog.open(tmp_path / "audit.db", AuditKeys.from_dir(tmp_path / "keys", env={}))
    svc = PrivacyService(
        store=open_store(settings.base.state),
        fingerprints=Fingerprinter(b"r" * 32),
        record=build_record(settings),
        connectors=lambda name: (_ for _ in ()).throw(AssertionError(name)),
        audit=audit,
        data_dir=tmp_path / "privacy",
        settings=settings,
    )
    yield svc
    svc.close()


def test_export_explains_the_score_and_neutralises_formula_names(service):
    evil = _lead(1, name='=HYPERLINK("http://x")')
    act = Activity(lead_key=evil.key, channel=Channel.WEB, kind="page_view:pricing",
                   occurred_at=NOW, source="hubspot", source_id="a1")  # fmt: skip
    service.store.stage_page(
        "hs", Page(stream="contacts", leads=(evil, _lead(2)), activities=(act,))
    )
    service.store.settle("hs", history=[_score(evil.key, NOW - timedelta(days=1), 50),
                                        _score(evil.key, NOW)], unchanged=[evil.key])  # fmt: skip
    service.audit.record([AuditEvent(kind="crm_write", actor="sync", at=NOW, subject=evil.key,
                                     details={"fields": ["leadbridge_score"]},
                                     personal={"new": {"leadbridge_score": 70}})])  # fmt: skip
    exported = service.export(SubjectQuery(email="P1@EXAMPLE.CH"), actor="dpo", fmt="json")
    data = json.loads(exported.content)
    (record,) = data["records"]
    assert record["lead"]["first_name"].startswith("=HYPERLINK")
    assert record["current_score"]["score"] == 70
    assert record["current_score"]["factors"][0]["rule"] == "pricing_page"
    assert record["current_score"]["config_version"] == "omnichannel@3"
    assert "rules" in record["current_score"]["logic"]
    assert [h["score"] for h in record["score_history"]] == [50, 70]
    assert record["activities"][0]["kind"] == "page_view:pricing"
    assert record["audit_entries"][0]["personal"] == {"new": {"leadbridge_score": 70}}
    assert data["controller"] == "Quill SA"
    as_csv = service.export(SubjectQuery(lead_keys=(evil.key,)), actor="dpo", fmt="csv")
    text = as_csv.content.decode()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text
    rows = read_csv(text)
    assert rows[0] == ["section", "connection", "lead_key", "item", "field", "value"]
    assert ["lead", "hs", evil.key, "", "first_name", evil.first_name] in rows
    kinds = [e.kind for e in service.audit.read(actor="t", limit=None)]
    assert kinds.count("privacy_action") == 2  # both requests recorded
    assert service.request(exported.request_id).status == "completed"


def test_retention_deletes_what_is_old_and_keeps_each_latest_score(service, tmp_path):
    store = service.store
    old, fresh = _lead(1, updated=NOW - timedelta(days=900)), _lead(2)
    store.stage_page("hs", Page(stream="contacts", leads=(old, fresh), activities=(
        Activity(lead_key=fresh.key, channel=Channel.EMAIL, kind="email_open", source="hubspot",
                 occurred_at=NOW - timedelta(days=1000), source_id="x1"),
        Activity(lead_key=fresh.key, channel=Channel.EMAIL, kind="email_open", source="hubspot",
                 occurred_at=NOW - timedelta(days=3), source_id="x2"),
    )))  # fmt: skip
    store.settle("hs", unchanged=[old.key, fresh.key], history=[
        _score(fresh.key, NOW - timedelta(days=500)), _score(fresh.key, NOW - timedelta(days=400)),
        _score(old.key, NOW - timedelta(days=800)),
    ])  # fmt: skip
    export = service.export(SubjectQuery(lead_keys=(fresh.key,)), actor="dpo", save=True)
    assert export.path is not None
    assert export.path.exists()
    stale = NOW - timedelta(days=40)
    os.utime(export.path, (stale.timestamp(), stale.timestamp()))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "old.bin").write_bytes(b"x")
    os.utime(cache / "old.bin", (stale.timestamp(),) * 2)
    (cache / "new.bin").write_bytes(b"y")
    policy = RetentionPolicy(cache_dirs=(str(cache),))
    report = enforce_retention(store, policy, registry=PrivacyRegistry(store.engine), now=NOW)
    assert report.deleted["leads"] == 1  # the lead idle for 900 days, with its history
    assert store.load_leads("hs", [old.key, fresh.key]).keys() == {fresh.key}
    assert [a.kind for a in store.load_activities("hs", [fresh.key])[fresh.key]] == ["email_open"]
    assert len(store.score_history("hs", fresh.key)) == 1  # the latest is kept, however old
    assert report.files_deleted == 1
    assert not (cache / "old.bin").exists()
    assert (cache / "new.bin").exists()
    assert export.path.exists()
    # The export is registered with its request: retention finds it by the request's age.
    later = enforce_retention(store, policy, registry=PrivacyRegistry(store.engine),
                              now=datetime.now(UTC) + timedelta(days=31))  # fmt: skip
    assert later.files_deleted == 2
    assert not export.path.exists()


def test_ropa_from_config_and_the_cli(tmp_path):
    toml = tmp_path / "leadbridge.toml"
    toml.write_text(
        'state = "state.db"\n'
        '[privacy]\ncontroller = "Quill SA"\ncontact = "dpo@quill.ch"\n'
        f'data_dir = "{tmp_path / "privacy"}"\nkey_dir = "{tmp_path / "keys"}"\n'
        '[privacy.connections.bm]\ncountry = "CH"\n'
        '[audit]\ndb = "audit.db"\nkey_dir = "keys"\n'
        '[[connection]]\nname = "hs"\ncrm = "hubspot"\n'
        '[connection.settings]\nbase_url = "https://api-eu1.hubapi.com"\n'
        'properties = ["email", "firstname", "hs_analytics_source"]\n'
        '[[connection]]\nname = "bm"\ncrm = "boma"\n'
        '[[connection]]\nname = "ac"\ncrm = "activecampaign"\n'
        '[connection.settings]\naccount = "quill"\n'
    )
    settings = load_settings(toml)
    record = build_record(settings)
    by_name = {s.connection: s for s in record.sources}
    assert by_name["hs"].fields_pulled == ("email", "firstname", "hs_analytics_source")
    assert by_name["hs"].country == "DE"
    assert "adequate" in by_name["hs"].transfer
    assert by_name["bm"].country == "CH"
    assert "leads.email" in by_name["bm"].fields_pulled
    assert by_name["ac"].country == "US"
    assert "Privacy Framework" in by_name["ac"].transfer
    markdown = render_markdown(record)
    assert "| hs | hubspot | api-eu1.hubapi.com |" in markdown
    assert "dead letters | 90 days" in markdown
    assert "Enforced by `leadbridge daemon` on the UTC schedule `30 2 * * *`." in markdown

    import typer

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a group needs a sibling to be addressable by name
    runner = CliRunner()
    answer = runner.invoke(app, ["privacy", "ropa", "--config", str(toml), "--format", "json"])
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.output)["controller"] == "Quill SA"
    answer = runner.invoke(app, ["privacy", "retention", "--config", str(toml)])
    assert answer.exit_code == 0, answer.output
    assert "deleted" in json.loads(answer.output)
    bad = runner.invoke(app, ["privacy", "export", "--config", str(toml)])
    assert bad.exit_code != 0  # nobody named
