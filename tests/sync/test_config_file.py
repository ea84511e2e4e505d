"""leadbridge.toml: every mistake is one ConfigError naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.sync.config import load_config, resolve_env

GOOD = """
state = "state/lb.db"
[scoring]
preset = "omnichannel"
[[connection]]
name = "hs"
crm = "hubspot"
every_minutes = 15
[connection.settings]
auth = { kind = "private_app", token_env = "LB_TOKEN" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadbridge.toml"
    path.write_text(text)
    return path


def test_good_config_resolves_relative_paths(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.state == str(tmp_path / "state" / "lb.db")
    assert cfg.connection[0].every_minutes == 15


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (
            GOOD.replace("every_minutes", "every_minuts"),
            "connection[0].every_minuts",
            "unknown key",
        ),
        (
            GOOD.replace("every_minutes = 15", "every_minutes = -1"),
            "connection[0].every_minutes",
            "greater than 0",
        ),
        (
            GOOD.replace('preset = "omnichannel"', 'preset = "x"\nconfig = "y.toml"'),
            "scoring",
            "exactly one",
        ),
        (GOOD + '[[connection]]\nname = "hs"\ncrm = "hubspot"\n', None, "unique"),
        (GOOD.replace('name = "hs"', 'name = "bad name!"'), "connection[0].name", "pattern"),
        (
            GOOD + '[predictive]\nenabled = true\nretrain_cron = "0 25 * * *"\n',
            "predictive.retrain_cron",
            "invalid cron expression",
        ),
        (
            GOOD + '[predictive]\nblend = { mode = "average" }\n',
            "predictive.blend.mode",
            "rules_floor",
        ),
    ],
)
def test_mistakes_name_file_and_key(
    tmp_path: Path, text: str, key: str | None, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert reason in message
    assert "\n" not in message
    if key:
        assert info.value.key == key


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "state = "))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_the_environment() -> None:
    settings = {"auth": {"kind": "private_app", "token_env": "LB_TOKEN"}, "base_url": "x"}
    resolved = resolve_env(
        settings, file="f.toml", prefix="connection.hs.settings", environ={"LB_TOKEN": "pat-secret"}
    )
    assert resolved == {"auth": {"kind": "private_app", "token": "pat-secret"}, "base_url": "x"}
    with pytest.raises(ConfigError) as info:
        resolve_env(settings, file="f.toml", prefix="connection.hs.settings", environ={})
    assert info.value.key == "connection.hs.settings.auth.token_env"
