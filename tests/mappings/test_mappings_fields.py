"""Loading pair mappings and checking them against live field catalogues."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.mappings.fields import check_mapping, load_mapping


@dataclass(frozen=True)
class F:
    name: str
    writable: bool = True


HUBSPOT = [
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    "jobtitle",
    "company",
    "country",
    "state",
    "city",
    "hs_language",
    "lifecyclestage",
    "hubspot_owner_id",
]
SALESFORCE = [
    "Email",
    "FirstName",
    "LastName",
    "Phone",
    "MobilePhone",
    "Title",
    "MailingCountry",
    "MailingState",
    "MailingCity",
    "Language__c",
    "HasOptedOutOfEmail",
    "OwnerId",
]


def catalog(names: list[str], **read_only: bool) -> dict[str, F]:
    return {n: F(n, writable=not read_only.get(n, False)) for n in names}


def test_bundled_mapping_loads_and_compiles() -> None:
    mapping = load_mapping("hubspot-salesforce")
    assert (mapping.a.crm, mapping.b.crm) == ("hubspot", "salesforce")
    rules = {r.name: r for r in mapping.compile({"71000001": "005000000000001"})}
    assert rules["region"].read("a", {"state": "Zürich"}) == "ZH"
    assert rules["region"].codec_b.render("ZH") == "ZH"
    assert rules["owner"].codec_b.render("71000001") == "005000000000001"
    assert rules["owner"].read("b", {"OwnerId": "005UNKNOWN"}) is None  # unmapped owner: blank
    assert rules["language"].same("de", "de")
    assert rules["phone"].same("+41441234567", "+41441234567")
    assert not rules["lifecycle_stage"].writes_to("a")


def test_flipped_mapping_swaps_sides_directions_and_enum_tables() -> None:
    flipped = load_mapping("salesforce-hubspot")
    assert flipped.a.crm == "salesforce"
    stage = flipped.rule("lifecycle_stage")
    assert (stage.a, stage.b, stage.direction, stage.prefer) == (
        "Lifecycle_Stage__c", "lifecyclestage", "b_to_a", "b")  # fmt: skip
    assert stage.values["MQL"] == "marketingqualifiedlead"
    assert flipped.defaults.tie == "a"


def test_check_reports_unknown_removed_and_read_only_fields_at_load() -> None:
    mapping = load_mapping("hubspot-salesforce")
    hubspot = catalog([n for n in HUBSPOT if n != "city"] + ["hs_email_optout"], firstname=True)
    report = check_mapping(mapping, hubspot, catalog(SALESFORCE), previous_a=["city"],
                           create=("b",))  # fmt: skip
    kinds = {(p.side, p.field, p.kind) for p in report.problems}
    assert ("a", "city", "removed") in kinds
    assert ("a", "firstname", "read_only") in kinds
    assert ("b", "Company_Name__c", "unknown") not in kinds  # create = true on b
    assert {spec.name for _, spec in report.to_create} >= {"Company_Name__c", "Leadbridge_Id__c"}
    with pytest.raises(ConfigError, match="was removed since the last run"):
        report.raise_for_problems()
    without_create = check_mapping(mapping, hubspot, catalog(SALESFORCE))
    assert ("b", "Company_Name__c", "unknown") in {
        (p.side, p.field, p.kind) for p in without_create.problems}  # fmt: skip


def test_a_clean_mapping_passes() -> None:
    mapping = load_mapping("hubspot-salesforce")
    hubspot = catalog([*HUBSPOT, "hs_email_optout", "leadbridge_id"], hs_email_optout=True)
    salesforce = catalog([*SALESFORCE, "Company_Name__c", "Lifecycle_Stage__c", "Leadbridge_Id__c"])
    report = check_mapping(mapping, hubspot, salesforce)
    assert report.ok, [p.describe(mapping) for p in report.problems]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(body, encoding="utf-8")
    return path


HEAD = """name = "t"
[a]
crm = "x"
object = "o"
external_id = "eid"
[b]
crm = "y"
object = "o"
external_id = "eid"
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[field]]\nname='e'\na='e'\nb='E'\ntransform='enum'\nvalues={x='A', y='a'}\n",
         "one to one"),
        ("[[field]]\nname='e'\na='e'\nb='E'\ncolour='red'\n", "unknown key"),
        ("[[field]]\nname='e'\na='e'\nb='E'\ntransform='phone'\na_format='roman'\n",
         "no format"),
        ("[[field]]\nname='e'\na='e'\nb='E'\n[[field]]\nname='e'\na='f'\nb='F'\n", "unique"),
        ("[records]\nmatch='nope'\n[[field]]\nname='e'\na='e'\nb='E'\n", "names no field"),
    ],
)  # fmt: skip
def test_bad_mapping_files_are_config_errors_naming_the_file(tmp_path: Path, body: str,
                                                             message: str) -> None:  # fmt: skip
    path = write(tmp_path, HEAD + body)
    with pytest.raises(ConfigError, match=message) as caught:
        load_mapping(str(path))
    assert str(path) in str(caught.value)


def test_missing_files_and_names() -> None:
    with pytest.raises(ConfigError, match="no bundled mapping"):
        load_mapping("hubspot-pipedrive")
    with pytest.raises(ConfigError, match="file not found"):
        load_mapping("/nonexistent/m.toml")
