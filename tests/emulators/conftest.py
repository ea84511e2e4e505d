from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal

TOKEN = "pat-na1-emulator-token"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# shared/ sits beside the repository (on developer machines and in CI).
SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "hubspot"


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    """A fresh 300-lead portal with generous limits."""
    limits = HubSpotLimits(burst_per_10s=10_000, search_per_s=10_000)
    with HubSpotEmulator(generate_portal(300, seed=7, now=NOW), limits=limits) as emu:
        yield emu


@pytest.fixture
def api(hs: HubSpotEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=hs.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as client:
        yield client


def _relax(node: Any) -> None:
    """HubSpot sends `null` for requested properties without a value; the spec says string."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            inner = props.get("properties")
            if isinstance(inner, dict) and inner.get("additionalProperties") == {
                "type": "string",
                "example": None,
            }:
                inner["additionalProperties"] = {"type": ["string", "null"]}
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)


class SpecValidator:
    """Validates documents against `components/schemas/<name>` of a copied spec file."""

    def validate(self, spec: str, schema: str, document: Any) -> None:
        import jsonschema

        components = json.loads((SPECS / spec).read_text())["components"]
        _relax(components)
        root = {"components": components, "$ref": f"#/components/schemas/{schema}"}
        jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker()).validate(
            document
        )


@pytest.fixture(scope="session")
def spec() -> SpecValidator:
    if not SPECS.is_dir():
        pytest.skip(f"HubSpot specs not available: {SPECS} is absent")
    return SpecValidator()
