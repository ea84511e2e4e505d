"""Every sub-package and data file ships in the wheel; the public surface stays tidy."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_PACKAGES = {"tests", "bench", "docs", "build", "dist", ".venv", ".ci", ".git"}
SOURCE_DIRS = tuple(
    sorted(
        d.name
        for d in ROOT.iterdir()
        if d.is_dir() and d.name not in NOT_PACKAGES and (d / "__init__.py").exists()
    )
)


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def _package_folders() -> set[str]:
    found = {"leadbridge"}
    for top in SOURCE_DIRS:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            found.add(".".join(("leadbridge", *rel.parts)))
    return found


def test_required_top_level_folders_exist() -> None:
    assert {"core", "connectors", "sync", "mappings"} <= set(SOURCE_DIRS)
    for path in ("tests", "pyproject.toml", "CHANGELOG.md", "README.md", "LICENSE"):
        assert (ROOT / path).exists()


def test_every_package_folder_is_declared() -> None:
    assert _declared_packages() == _package_folders()


def test_tests_and_benchmarks_are_not_packages() -> None:
    assert not (ROOT / "tests" / "__init__.py").exists()
    assert not any(
        p.startswith(("leadbridge.tests", "leadbridge.bench")) for p in _declared_packages()
    )


@pytest.mark.slow
def test_wheel_contains_every_package_and_data_file(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("leadbridge-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in _package_folders():
        init = "/".join(package.split(".")) + "/__init__.py"
        assert init in names, f"{package} missing from the wheel"
    assert "leadbridge/py.typed" in names
    for data in (ROOT / "mappings").rglob("*.toml"):
        assert "leadbridge/" + data.relative_to(ROOT).as_posix() in names
    assert not any(
        n.startswith(("leadbridge/tests/", "leadbridge/bench/", "tests/")) for n in names
    )
