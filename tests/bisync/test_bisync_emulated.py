"""Two-way sync HubSpot <-> Salesforce against both emulators over real HTTP(S)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.salesforce import from_settings
from leadbridge.emulators.crmpair import CrmPair
from leadbridge.emulators.hubspot.routes_merge import merge_contacts
from leadbridge.emulators.salesforce.routes_upsert import merge_records
from leadbridge.mappings.fields import load_mapping
from leadbridge.sync.bidirectional import BidirectionalSync
from leadbridge.sync.pairstate import PairState

N = 240


@dataclass
class World:
    pair: CrmPair
    sync: BidirectionalSync
    state: PairState

    def cycle_writes(self) -> tuple[int, int]:
        """(writes the cycle reports, state-changing writes both emulators saw)."""
        before = self._ledger()
        report = self.sync.cycle()
        return report.writes, self._ledger() - before

    def _ledger(self) -> int:
        return len(self.pair.hubspot.ledger.writes()) + len(self.pair.salesforce.ledger.writes())

    def b_of(self, a_id: str) -> str:
        return self.state.links_for("a", [a_id])[a_id].b_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with CrmPair(hubspot_contacts=N, seed=3) as pair:
        hubspot = HubSpotConnector.from_mapping(pair.settings("hubspot"))
        salesforce = from_settings(pair.settings("salesforce"))
        state = PairState.open(str(tmp_path_factory.mktemp("bisync") / "s.db"), "hs<->sf")
        sync = BidirectionalSync(
            hubspot.records(),
            salesforce.records(),
            load_mapping("hubspot-salesforce"),
            state,
            overlap_s=1.0,
        )
        first = sync.cycle()
        assert first.created["b"] == first.pulled["a"] > N * 0.95
        yield World(pair, sync, state)
        hubspot.close()
        salesforce.close()
        state.close()


def live_ids(world: World) -> list[str]:
    portal = world.pair.hubspot.portal
    return [str(i) for i in sorted(portal.contacts.by_id)]


def test_first_cycle_mirrors_every_contact_with_transformed_values(world: World) -> None:
    portal, org = world.pair.hubspot.portal, world.pair.salesforce.org
    assert len(list(org.rows("Contact"))) == len(portal.contacts)
    swiss = next(
        r
        for r in portal.contacts.records.values()
        if r.properties.get("state") == "Zürich" and not r.archived
    )
    contact = org.get("Contact", world.b_of(str(swiss.id)))
    assert contact is not None
    assert (contact["MailingState"], contact["MailingCountry"]) == ("ZH", "CH")
    assert contact["Leadbridge_Id__c"] == f"hubspot:{swiss.id}"
    assert contact["Phone"] is None or contact["Phone"].startswith("+")


def test_conflicts_converge_to_the_newest_edit_then_nothing_moves(world: World) -> None:
    portal, org = world.pair.hubspot.portal, world.pair.salesforce.org
    ids = live_ids(world)[:80]
    hubspot_last, salesforce_last = ids[:40], ids[40:]
    for a_id in salesforce_last:
        portal.update_contact(portal.contacts.records[int(a_id)], {"firstname": f"hs-{a_id}"})
    time.sleep(0.01)
    for a_id in ids:
        org.update("Contact", world.b_of(a_id), {"FirstName": f"sf-{a_id}"})
    time.sleep(0.01)
    for a_id in hubspot_last:
        portal.update_contact(portal.contacts.records[int(a_id)], {"firstname": f"hs-{a_id}"})
    report = world.sync.cycle()
    assert report.conflicts == 80
    for a_id in ids:
        winner = f"hs-{a_id}" if a_id in hubspot_last else f"sf-{a_id}"
        assert portal.contacts.records[int(a_id)].properties["firstname"] == winner
        assert org.get("Contact", world.b_of(a_id))["FirstName"] == winner  # type: ignore[index]
    for _ in range(3):
        assert world.cycle_writes() == (0, 0)
    logged = world.state.conflicts("auto")
    assert {c.winner for c in logged} == {"a", "b"}


def test_one_sided_edits_and_policies(world: World) -> None:
    portal, org = world.pair.hubspot.portal, world.pair.salesforce.org
    a1, a2, a3 = live_ids(world)[100:103]
    org.update("Contact", world.b_of(a1), {"Title": "Chief Scoring Officer"})
    # company is "prefer HubSpot unless blank": a Salesforce edit is reverted...
    org.update("Contact", world.b_of(a2), {"Company_Name__c": "Other AG"})
    # ...unless HubSpot's value is blank: then Salesforce's value fills HubSpot back in.
    portal.update_contact(portal.contacts.records[int(a3)], {"company": ""})
    world.sync.cycle()
    assert portal.contacts.records[int(a1)].properties["jobtitle"] == "Chief Scoring Officer"
    expected = portal.contacts.records[int(a2)].properties["company"]
    assert org.get("Contact", world.b_of(a2))["Company_Name__c"] == expected  # type: ignore[index]
    kept = org.get("Contact", world.b_of(a3))["Company_Name__c"]  # type: ignore[index]
    assert kept
    assert portal.contacts.records[int(a3)].properties["company"] == kept
    assert world.cycle_writes() == (0, 0)


def test_creates_deletes_and_merges_propagate_both_ways(world: World) -> None:
    portal, org = world.pair.hubspot.portal, world.pair.salesforce.org
    new_id = org.create(
        "Contact",
        {
            "LastName": "Neu",
            "FirstName": "Nina",
            "Email": "nina.neu@example.ch",
            "MailingCountry": "CH",
        },
    )[0]
    assert new_id is not None
    ids = live_ids(world)
    gone_a, survivor_a, loser_a, survivor_b_side, loser_b_side = ids[150:155]
    portal.archive_contact(portal.contacts.records[int(gone_a)])
    merge_contacts(portal, int(survivor_a), int(loser_a))
    merge_records(org, world.b_of(survivor_b_side), world.b_of(loser_b_side))
    loser_b = world.b_of(loser_a)
    gone_b = world.b_of(gone_a)
    time.sleep(0.01)
    report = world.sync.cycle()
    assert report.created["a"] == 1
    created = portal.contact_by_email("nina.neu@example.ch")
    assert created is not None
    assert created.properties["leadbridge_id"] == f"salesforce:{new_id}"
    assert org.get("Contact", gone_b) is None
    assert org.get("Contact", loser_b) is None  # HubSpot's merge, replayed on Salesforce
    assert portal.contacts.get_live(int(loser_b_side)) is None  # and Salesforce's on HubSpot
    assert (report.deleted["b"], report.merged["b"], report.merged["a"]) == (1, 1, 1)
    assert world.cycle_writes() == (0, 0)
    assert world.cycle_writes() == (0, 0)


def test_never_overwrite_conflicts_wait_for_a_manual_override(world: World, tmp_path: Path) -> None:
    portal, org = world.pair.hubspot.portal, world.pair.salesforce.org
    a_id = live_ids(world)[200]
    rule = world.sync.rules[[r.name for r in world.sync.rules].index("city")]
    object.__setattr__(rule, "policy", "never_overwrite")
    try:
        portal.update_contact(portal.contacts.records[int(a_id)], {"city": "Sion"})
        org.update("Contact", world.b_of(a_id), {"MailingCity": "Sierre"})
        report = world.sync.cycle()
        assert report.conflicts == 1
        assert world.cycle_writes() == (0, 0)
        [open_conflict] = world.state.conflicts("open")
        assert (open_conflict.a_value, open_conflict.b_value) == ("Sion", "Sierre")
        world.state.override(open_conflict.id, "Sierre")
        report = world.sync.cycle()
        assert report.overrides == 1
        assert portal.contacts.records[int(a_id)].properties["city"] == "Sierre"
        assert world.state.conflicts("open") == []
        assert world.cycle_writes() == (0, 0)
    finally:
        object.__setattr__(rule, "policy", "newest")
