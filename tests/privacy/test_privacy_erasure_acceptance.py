"""Issue 6 acceptance: erase one person held in four emulated CRMs and locally.

Real HTTP everywhere: four CRM emulators, the sync engine pulling and writing scores into
a SQLite state store with an audit log, subject exports on disk, logs at DEBUG in a file,
then an erasure requested through the API with a signed JWT. Afterwards: each CRM got
its delete, the certificate has four receipts, no file in the installation holds the
person's e-mail, phone or name (raw, lower-case, base64, UTF-16), the audit chain still
verifies, and a re-submitted record of the person is not imported again.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from leadbridge.api.app import create_app
from leadbridge.api.settings import ApiSettings
from leadbridge.audit import AuditKeys, AuditLog, verify
from leadbridge.emulators.activecampaign import (
    ActiveCampaignEmulator,
    ActiveCampaignLimits,
    generate_activecampaign,
)
from leadbridge.emulators.boma import BomaEmulator, BomaLimits, generate_boma
from leadbridge.emulators.boma.store import LeadRow
from leadbridge.emulators.common.server import ServerThread
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.emulators.salesforce import (
    SalesforceEmulator,
    SalesforceLimits,
    generate_salesforce,
)
from leadbridge.privacy.config import parse_settings
from leadbridge.privacy.identity import Fingerprinter, SubjectQuery
from leadbridge.privacy.ropa import build_record
from leadbridge.privacy.service import PrivacyService, connector_factory
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store

FIRST, LAST = "Zephyrine", "Quillfeather"
EMAIL = "Zephyrine.Quillfeather@privacy-test.ch"
PHONE = "+41 79 555 01 23"
AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _b64_cores(data: bytes) -> list[bytes]:
    """Base64 of `data` at each of the 3 alignments, trimmed to what any context shares."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data)
        start = (4 * shift + 2) // 3 + 1
        cores.append(encoded[start:-4])
    return [c for c in cores if len(c) >= 8]


def needles() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for label, text in {
        "email": EMAIL,
        "phone": PHONE,
        "phone_e164": "+41795550123",
        "first_name": FIRST,
        "last_name": LAST,
    }.items():
        for form, value in (("raw", text), ("lower", text.lower())):
            raw = value.encode()
            found[f"{label}/{form}"] = raw
            found[f"{label}/{form}/utf16"] = value.encode("utf-16-le")
            for i, core in enumerate(_b64_cores(raw)):
                found[f"{label}/{form}/b64-{i}"] = core
    return found


def grep(root: Path) -> list[str]:
    hits = []
    patterns = needles()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [f"{path.relative_to(root)}: {name}" for name, n in patterns.items() if n in data]
    return hits


@pytest.fixture
def crms() -> Iterator[dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    hs = HubSpotEmulator(
        generate_portal(25, seed=4),
        limits=HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000),
    ).start()
    sf = SalesforceEmulator(
        generate_salesforce(20, seed=11),
        limits=SalesforceLimits(query_page_size=40, bulk_job_delay_s=0.05),
        jwt_public_key_pem=public,
    ).start()
    ac = ActiveCampaignEmulator(
        generate_activecampaign(20, seed=5, now=AS_OF),
        limits=ActiveCampaignLimits(requests_per_s=10_000),
    ).start()
    boma = BomaEmulator(generate_boma(20, seed=11, now=AS_OF), limits=BomaLimits(requests=1000))
    boma.start()
    try:
        yield {"hubspot": hs, "salesforce": sf, "activecampaign": ac, "boma": boma, "pem": private}
    finally:
        for emu in (hs, sf, ac, boma):
            emu.stop()


def plant_person(crms: dict[str, Any]) -> dict[str, str]:
    """The same person in all four CRMs; their record id in each."""
    hs, sf, ac, boma = crms["hubspot"], crms["salesforce"], crms["activecampaign"], crms["boma"]
    contact = hs.portal.create_contact(
        {"email": EMAIL, "firstname": FIRST, "lastname": LAST, "phone": PHONE,
         "jobtitle": "CFO", "company": "Quill SA"}
    )  # fmt: skip
    lead_id = sf.org.insert_raw(
        "Lead",
        {"FirstName": FIRST, "LastName": LAST, "Email": EMAIL, "Phone": PHONE,
         "Company": "Quill SA", "Status": "Open - Not Contacted", "Title": "CFO"},
        at=sf.org.clock(),
    )  # fmt: skip
    with ac.account.lock:
        ac_contact, _ = ac.account.upsert_by_email(
            EMAIL, first_name=FIRST, last_name=LAST, phone=PHONE
        )
    now_ms = int(time.time() * 1000)
    boma_id = max(boma.store.leads) + 1
    boma.store.add_lead(
        LeadRow(lead_id=boma_id, first_name=FIRST, last_name=LAST, email=EMAIL, phone=PHONE,
                language="fr", canton="VD", country="CH", job_status="employed",
                requested_amount=800_000, property_value=1_100_000, project_type="purchase",
                source="web", marketing_consent=True, created_ms=now_ms, updated_ms=now_ms)
    )  # fmt: skip
    return {
        "hubspot": str(contact.id),
        "salesforce": lead_id,
        "activecampaign": str(ac_contact.id),
        "boma": str(boma_id),
    }


def config(tmp: Path, crms: dict[str, Any]) -> dict[str, Any]:
    hs, sf, ac, boma = crms["hubspot"], crms["salesforce"], crms["activecampaign"], crms["boma"]
    return {
        "state": str(tmp / "state.db"),
        "connection": [
            {"name": "hs", "crm": "hubspot", "settings": {
                "base_url": hs.base_url, "overlap_s": 0,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
                "budgets": {"default": [100_000, 10.0], "search": [10_000, 1.0]}}},
            {"name": "sf", "crm": "salesforce", "settings": {
                "instance_url": sf.base_url, "verify": sf.ca_path,
                "account": f"privacy-{uuid.uuid4().hex[:8]}", "daily_reserve": 0,
                "concurrency_retry_s": 0.01, "bulk_poll_s": 0.05,
                "auth": {"kind": "jwt_bearer", "client_id": sf.client_id,
                         "username": sf.org.api_username, "private_key_pem": crms["pem"],
                         "token_url": sf.token_url}}},
            {"name": "ac", "crm": "activecampaign", "settings": {
                "base_url": ac.api_url, "api_key": ac.api_key, "allow_any_base_url": True,
                "budgets": {"default": [10_000, 1.0]}, "import_poll_interval_s": 0.05}},
            {"name": "bm", "crm": "boma", "settings": {
                "base_url": boma.base_url + "/v1", "client_id": boma.client_id,
                "client_secret": boma.client_secret, "retry_base_s": 0.01,
                "retry_cap_s": 0.05}},
        ],
        "privacy": {"data_dir": str(tmp / "privacy"), "key_dir": str(tmp / "keys")},
    }  # fmt: skip


def sync_all(service: PrivacyService, audit: AuditLog, names: list[str]) -> None:
    scorer = RulesScorer(load_config("omnichannel"))
    for name in names:
        connector = service.connectors(name)
        engine = SyncEngine(
            connector,
            scorer,
            service.store,
            connection=name,
            audit=audit,
            clock=lambda: AS_OF,
            page_filter=service.filter(connector.name),
        )
        try:
            report = engine.run()
        finally:
            engine.connector.close()
        assert report.status in ("ok", "partial"), (name, report.errors)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs" / "leadbridge.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def test_erasure_in_four_crms_leaves_no_trace_and_the_chain_verifies(tmp_path, crms, log_file):
    ids = plant_person(crms)
    settings = parse_settings(config(tmp_path, crms), file=tmp_path / "leadbridge.toml")
    audit = AuditLog.open(
        tmp_path / "audit.db",
        AuditKeys.from_dir(tmp_path / "keys", env={}),
        export_dir=tmp_path / "anchors",
    )
    service = PrivacyService(
        store=open_store(settings.base.state),
        fingerprints=Fingerprinter(b"p" * 32),
        record=build_record(settings),
        connectors=connector_factory(settings),
        audit=audit,
        data_dir=tmp_path / "privacy",
        settings=settings,
    )
    names = ["hs", "sf", "ac", "bm"]
    sync_all(service, audit, names)
    held = service.holdings(SubjectQuery(email=EMAIL.upper()))
    assert {(h.connection, h.source_id) for h in held} == {
        ("hs", ids["hubspot"]), ("sf", ids["salesforce"]),
        ("ac", ids["activecampaign"]), ("bm", ids["boma"]),
    }  # fmt: skip
    exported = service.export(SubjectQuery(email=EMAIL), actor="dpo", fmt="json", save=True)
    service.export(SubjectQuery(lead_keys=(held[0].lead_key,)), actor="dpo", fmt="csv", save=True)
    assert exported.path is not None
    assert EMAIL.encode() in exported.path.read_bytes()
    before = grep(tmp_path)
    assert any(h.startswith("state.db") and "email/raw" in h for h in before)
    assert any(h.startswith("privacy/exports") for h in before)

    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    (tmp_path / "jwks.json").write_text(json.dumps(KeySet([key]).as_dict(private=False)))
    api_settings = ApiSettings(issuer="https://idp.test/", audience="lb",
                               jwks_file=str(tmp_path / "jwks.json"))  # fmt: skip
    server = ServerThread(create_app(api_settings, privacy=service, audit=audit), name="api")
    server.start()
    try:
        now = int(time.time())
        token = jwt.encode(
            {"alg": "RS256", "kid": "k1"},
            {"iss": "https://idp.test/", "aud": "lb", "sub": "dpo-desk", "exp": now + 60,
             "scope": "privacy:write privacy:read"},
            key,
        )  # fmt: skip
        answer = httpx.post(
            f"{server.base_url}/privacy/erasure",
            json={"email": EMAIL},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        certificate = answer.json()
        status = httpx.get(
            f"{server.base_url}/privacy/requests/{certificate['request_id']}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    finally:
        server.stop()

    # The certificate: four receipts, one per CRM, every record deleted.
    assert certificate["status"] == "completed"
    receipts = {r["system"]: r for r in certificate["receipts"]}
    assert set(receipts) == {"hubspot", "salesforce", "activecampaign", "boma"}
    for system, receipt in receipts.items():
        assert [o["object_id"] for o in receipt["objects"]] == [ids[system]]
        assert receipt["objects"][0]["status"] == "deleted", receipt
        assert receipt["objects"][0]["response_sha256"]
    assert receipts["hubspot"]["action"] == "gdpr-delete"
    assert receipts["salesforce"]["action"] == "bulk-hardDelete"
    assert certificate["local_rows_deleted"]["leads"] == 4
    assert certificate["export_files_deleted"] == 2
    assert certificate["audit_subjects_shredded"] == 4
    assert status["status"] == "completed"
    assert status["result"]["sha256"] == certificate["sha256"]

    # Each CRM received its delete.
    hs, sf, ac, boma = crms["hubspot"], crms["salesforce"], crms["activecampaign"], crms["boma"]
    assert hs.portal.contact_by_email(EMAIL) is None
    assert EMAIL.lower() in hs.portal.blocklist
    assert any("gdpr-delete" in k for k in hs.ledger.counts())
    assert ids["salesforce"] not in sf.org.records["Lead"]  # not even in the recycle bin
    assert any("hardDelete" in w.endpoint for w in sf.ledger.writes())
    assert int(ids["activecampaign"]) not in ac.account.contacts
    assert int(ids["boma"]) not in boma.store.leads

    # Nothing left anywhere in the installation's files, logs included.
    assert log_file.stat().st_size > 0
    assert grep(tmp_path) == []

    # The chain still verifies, and records the certificate without personal data.
    report = verify(
        audit, public_key=audit.verifier_key, external_checkpoints_dir=tmp_path / "anchors"
    )
    assert report.ok, report.problems
    chained = [e for e in audit.read(actor="test", kinds=["privacy_action"], limit=None)
               if e.details.get("action") == "erasure_certificate"]  # fmt: skip
    assert [e.details["certificate_sha256"] for e in chained] == [certificate["sha256"]]

    # The person comes back through a form in HubSpot: suppressed, not re-imported.
    hs.portal.create_contact({"email": EMAIL.lower(), "firstname": FIRST, "lastname": LAST})
    sync_all(service, audit, ["hs"])
    assert service.holdings(SubjectQuery(email=EMAIL)) == []
    service.close()
    assert grep(tmp_path) == []
