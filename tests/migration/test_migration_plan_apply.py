"""Migration HubSpot -> Salesforce in-process: plan's diff and budget, sample, apply, verify."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.salesforce import SalesforceConnector, from_settings
from leadbridge.core.errors import SyncError
from leadbridge.emulators.crmpair import CrmPair
from leadbridge.mappings.fields import load_mapping
from leadbridge.sync.migration import Migration, require_plan
from leadbridge.sync.migrationstate import MigrationState
from leadbridge.sync.verification import VerifyReport, verify


@dataclass
class Setup:
    pair: CrmPair
    migration: Migration
    state: MigrationState
    hubspot: HubSpotConnector
    salesforce: SalesforceConnector
    owners: dict[str, str]

    def verify(self) -> VerifyReport:
        sf = self.salesforce
        return verify(
            self.hubspot.records(),
            sf.records(),
            load_mapping("hubspot-salesforce"),
            owners=self.owners,
            id_map=self.state.id_map("record"),
            activities=self.hubspot.records(),
            objects={"Task": sf.records("Task"), "Event": sf.records("Event")},
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with CrmPair(hubspot_contacts=400, seed=5) as pair:
        portal, org = pair.hubspot.portal, pair.salesforce.org
        first = portal.contacts.records[min(portal.contacts.by_id)]
        # Someone already keyed this person into Salesforce by hand: matched on e-mail.
        org.create("Contact", {"LastName": "Old", "Email": first.properties["email"].upper()})
        owner = org.insert_raw(
            "User", {"Username": "anna@acme.ch", "Name": "Anna", "IsActive": True}, at=org.clock()
        )
        owners = {"71000001": owner}
        hubspot = HubSpotConnector.from_mapping(pair.settings("hubspot"))
        salesforce = from_settings(pair.settings("salesforce"))
        state = MigrationState.open(str(tmp_path_factory.mktemp("mig") / "m.db"), "hs->sf")
        migration = Migration(
            hubspot.records(),
            salesforce.records(),
            load_mapping("hubspot-salesforce"),
            state,
            target_object=salesforce.records,
            activities=hubspot.records(),
            owners=owners,
            sample_fraction=0.1,
        )
        yield Setup(pair, migration, state, hubspot, salesforce, owners)
        hubspot.close()
        salesforce.close()
        state.close()


def test_apply_needs_nothing_before_plan_but_verify_does(setup: Setup) -> None:
    with pytest.raises(SyncError, match="run 'leadbridge migrate plan' first"):
        require_plan(setup.state)


def test_plan_diffs_every_record_and_writes_nothing(setup: Setup) -> None:
    writes_before = len(setup.pair.salesforce.ledger.writes())
    plan = setup.migration.plan()
    assert len(setup.pair.salesforce.ledger.writes()) == writes_before
    records = plan.counts["record"]
    assert records["update"] == 1
    assert records["create"] == len(setup.pair.hubspot.portal.contacts) - 1
    update = next(d for d in plan.diffs if d.action == "update")
    assert update.changes["last_name"][0] == "Old"
    assert update.target_id is not None
    assert plan.to_create["Contact"] == [
        "Leadbridge_Id__c",
        "Company_Name__c",
        "Lifecycle_Stage__c",
    ]
    assert plan.estimate["source"] == {"read": 0, "write": 0, "setup": 0}
    assert plan.estimate["target"]["setup"] == 3 + 3 + 2 * (1 + 3)
    assert 0 < plan.sample_estimate["target"]["write"] < plan.estimate["target"]["write"]
    owned = [d for d in plan.diffs if d.changes.get("owner", [None, None])[1]]
    assert owned, "contacts of the mapped owner carry the Salesforce user id"


def test_sample_apply_moves_about_ten_percent(setup: Setup) -> None:
    report = setup.migration.apply(sample_only=True)
    contacts = len(setup.pair.hubspot.portal.contacts)
    assert 0.05 * contacts < report.written["record"] < 0.16 * contacts
    assert not report.complete
    assert report.spent["target"]["setup"] == 14  # custom fields + field-level security


def test_full_apply_spends_what_the_plan_said_and_verifies(setup: Setup) -> None:
    report = setup.migration.apply()
    assert report.complete
    assert sum(report.failed.values()) == 0
    assert report.spent["source"] == {"read": 0, "write": 0, "setup": 0}
    org = setup.pair.salesforce.org
    contacts = list(org.rows("Contact"))
    assert len(contacts) == len(setup.pair.hubspot.portal.contacts)
    tasks = [t for t in org.rows("Task") if t.get("Leadbridge_Id__c")]
    assert tasks
    assert all(org.get("Contact", t["WhoId"]) is not None for t in tasks)
    result = setup.verify()
    assert result.ok, result.to_json()
    assert setup.migration.apply().written == {}  # nothing left: a re-run is a no-op


def test_verify_catches_a_changed_value_and_a_duplicate(setup: Setup) -> None:
    org = setup.pair.salesforce.org
    victim = next(r for r in org.rows("Contact") if r.get("Title"))
    org.update("Contact", victim["Id"], {"Title": "Tampered"})
    result = setup.verify()
    checks = {f.field: f for f in result.fields}
    assert not result.ok
    assert checks["job_title"].mismatched == 1
    assert checks["email"].mismatched == 0
    org.create("Contact", {"LastName": "Dup", "Leadbridge_Id__c": victim["Leadbridge_Id__c"]})
    assert setup.verify().duplicates["external_id"] == 1


def test_pair_config_errors_are_one_line(tmp_path: Path) -> None:
    from leadbridge.core.errors import ConfigError
    from leadbridge.sync.pairconfig import load_pair_config

    path = tmp_path / "pair.toml"
    path.write_text('state = "x.db"\nsampel = 0.2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key .sampel.: unknown key"):
        load_pair_config(path)
    path.write_text('state = "x.db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no \[crm.hubspot\] table"):
        load_pair_config(path).settings("hubspot")
