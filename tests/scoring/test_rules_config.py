"""Presets load; bad configs fail with one message naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.rules import PRESETS, ScoringConfig, load_config, parse_config
from leadbridge.scoring.rules.loader import preset_path

GOOD = """
name = "mini"
version = "7"
[intent]
[[intent.rules]]
name = "pricing"
channel = "web"
kinds = ["page_view:pricing"]
points = 15
max_per_day = 3
[intent.groups.web]
max_points = 40
"""


def fail(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.file == str(path)
    assert "\n" not in str(err)
    assert str(path) in str(err)
    return err


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_are_versioned(name):
    config = load_config(name)
    assert isinstance(config, ScoringConfig)
    assert config.name == name
    assert config.version.startswith(f"{name}-1+")
    assert preset_path(name).is_file()


def test_version_is_a_content_hash(tmp_path):
    one = parse_config(GOOD)
    two = parse_config(GOOD.replace("points = 15", "points = 16"))
    assert one.version.startswith("mini-7+")
    assert one.version != two.version
    assert parse_config(GOOD + "\n# a comment\n").version == one.version


def test_config_is_frozen():
    config = parse_config(GOOD)
    with pytest.raises(ValueError, match="frozen"):
        config.name = "other"  # type: ignore[misc]


def test_unknown_channel(tmp_path):
    err = fail(tmp_path, GOOD.replace('channel = "web"', 'channel = "fax"'))
    assert err.key == "intent.rules[pricing].channel"
    assert "web" in err.reason


def test_negative_cap(tmp_path):
    err = fail(tmp_path, GOOD.replace("max_points = 40", "max_points = -5"))
    assert err.key == "intent.groups.web.max_points"
    assert "greater than or equal to 0" in err.reason


def test_negative_per_day_cap(tmp_path):
    err = fail(tmp_path, GOOD.replace("max_per_day = 3", "max_per_day = -1"))
    assert err.key == "intent.rules[pricing].max_per_day"


def test_typo_in_a_key_suggests_the_right_one(tmp_path):
    err = fail(tmp_path, GOOD.replace("max_per_day", "max_per_dya"))
    assert err.key == "intent.rules[pricing].max_per_dya"
    assert err.reason == "unknown key; did you mean 'max_per_day'?"


def test_overlapping_tier_thresholds(tmp_path):
    tiers = """
[[tiers]]
name = "cold"
min = 0
max = 40
action = "nurture"
routing = "bot"
[[tiers]]
name = "hot"
min = 30
max = 100
action = "call"
routing = "sales"
"""
    err = fail(tmp_path, GOOD + tiers)
    assert err.key == "tiers[hot].min"
    assert "overlaps" in err.reason


def test_gap_in_tiers(tmp_path):
    tiers = """
[[tiers]]
name = "cold"
min = 0
max = 40
action = "nurture"
routing = "bot"
[[tiers]]
name = "hot"
min = 45
max = 100
action = "call"
routing = "sales"
"""
    err = fail(tmp_path, GOOD + tiers)
    assert "41–44 uncovered" in err.reason


def test_unknown_kind_and_wrong_channel(tmp_path):
    err = fail(tmp_path, GOOD.replace("page_view:pricing", "page_veiw:pricing"))
    assert err.key == "intent.rules[pricing].kinds"
    assert "unknown activity kind" in err.reason
    err = fail(tmp_path, GOOD.replace("page_view:pricing", "email_click"))
    assert err.key == "intent.rules[pricing].channel"


def test_decay_needs_its_parameters(tmp_path):
    err = fail(tmp_path, GOOD + '[decay]\nstrategy = "exponential"\n')
    assert err.key == "decay.half_life_days"
    err = fail(
        tmp_path,
        GOOD
        + '[decay]\nstrategy = "linear"\npoints_per_period = 2\nperiod_days = 7\nwindow_days = 3\n',
    )
    assert err.key == "decay.window_days"


def test_fit_criterion_errors(tmp_path):
    crit = '[[fit.criteria]]\nname = "c"\nfield = "{field}"\n{test}\npoints = 5\n'
    err = fail(tmp_path, GOOD + crit.format(field="industy", test='any_of = ["x"]'))
    assert err.key == "fit.criteria[c].field"
    err = fail(tmp_path, GOOD + crit.format(field="industry", test="min = 3"))
    assert "not numeric" in err.reason
    err = fail(
        tmp_path, GOOD + crit.format(field="industry", test='any_of = ["a"]\npresent = true')
    )
    assert "exactly one" in err.reason


def test_mixed_group_is_refused(tmp_path):
    extra = (
        '[[intent.rules]]\nname = "unsub"\nchannel = "email"\nkinds = ["email_unsubscribe"]\n'
        'points = -30\ngroup = "web"\n'
    )
    err = fail(tmp_path, GOOD + extra)
    assert err.key == "intent.rules[unsub].group"


def test_invalid_toml_and_missing_file(tmp_path):
    err = fail(tmp_path, "name = ")
    assert "invalid TOML" in err.reason
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_missing_required_key(tmp_path):
    err = fail(tmp_path, 'name = "x"\n')
    assert err.key == "intent"
    assert err.reason == "required key is missing"
