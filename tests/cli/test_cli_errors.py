"""The CLI turns user mistakes into one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from leadbridge.cli.app import main; main()"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_missing_config_file(tmp_path: Path) -> None:
    result = run("sync", "--config", "missing.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.toml: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_typo_in_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "lb.toml").write_text(
        '[[connection]]\nname = "hs"\ncrm = "hubspot"\nevery_minuts = 5\n'
    )
    result = run("sync", "--config", "lb.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "key 'connection[0].every_minuts': unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_crm_and_missing_secret(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[[connection]]\nname = "x"\ncrm = "pipedrive"\n')
    result = run("sync", "--config", "a.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown connector 'pipedrive'" in result.stderr
    (tmp_path / "b.toml").write_text(
        '[[connection]]\nname = "hs"\ncrm = "hubspot"\n[connection.settings]\n'
        'auth = { kind = "private_app", token_env = "LB_NOT_SET_ANYWHERE" }\n'
    )
    result = run("sync", "--config", "b.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "LB_NOT_SET_ANYWHERE" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.startswith("leadbridge ")
    help_text = run("--help", cwd=tmp_path).stdout
    for command in ("demo", "sync", "daemon", "emulator"):
        assert command in help_text
