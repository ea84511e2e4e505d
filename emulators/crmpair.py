"""An emulated HubSpot portal and Salesforce org side by side, for two-way sync and migration.

Starts both emulators on 127.0.0.1 with a fresh JWT key pair and gives the connection
settings a leadbridge config needs (``settings("hubspot")``), so tests, benchmarks and
demos can wire `leadbridge bisync` or `leadbridge migrate` against them, in this process
or in a child process (the settings are plain data).

    with CrmPair(hubspot_contacts=1000) as pair:
        settings = pair.settings("salesforce")
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadbridge.emulators.hubspot.config import HubSpotLimits
from leadbridge.emulators.hubspot.emulator import HubSpotEmulator
from leadbridge.emulators.hubspot.generator import generate_portal
from leadbridge.emulators.hubspot.portal import Portal
from leadbridge.emulators.salesforce.config import SalesforceLimits
from leadbridge.emulators.salesforce.emulator import SalesforceEmulator
from leadbridge.emulators.salesforce.org import Org

__all__ = ["FAST_HUBSPOT", "CrmPair"]

FAST_HUBSPOT = HubSpotLimits(burst_per_10s=100_000, daily=10_000_000, search_per_s=10_000)
"""Limits that never throttle (tests and benchmarks measure calls, not waiting)."""


def _keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class CrmPair:
    """Both emulators, started together; `settings(crm)` are ready-to-use connection settings."""

    def __init__(
        self,
        *,
        hubspot_contacts: int = 0,
        seed: int = 7,
        portal: Portal | None = None,
        org: Org | None = None,
        hubspot_limits: HubSpotLimits | None = None,
        salesforce_limits: SalesforceLimits | None = None,
    ) -> None:
        self._private, public = _keypair()
        if portal is None:
            portal = generate_portal(hubspot_contacts, seed=seed) if hubspot_contacts else Portal()
        self.hubspot = HubSpotEmulator(portal, limits=hubspot_limits or FAST_HUBSPOT)
        self.salesforce = SalesforceEmulator(
            org or Org(),
            limits=salesforce_limits or SalesforceLimits(daily_api_requests=10_000_000),
            jwt_public_key_pem=public,
        )
        self._account = uuid.uuid4().hex[:12]

    def start(self) -> CrmPair:
        self.hubspot.start()
        self.salesforce.start()
        return self

    def stop(self) -> None:
        self.hubspot.stop()
        self.salesforce.stop()

    def __enter__(self) -> CrmPair:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def settings(self, crm: str) -> dict[str, Any]:
        """Connection settings for ``hubspot`` or ``salesforce`` (secrets inline: test keys)."""
        if crm == "hubspot":
            return {
                "base_url": self.hubspot.base_url,
                "account": f"hs-{self._account}",
                "auth": {"kind": "private_app", "token": self.hubspot.private_app_token},
                "budgets": {"default": [100_000, 10.0], "search": [10_000, 1.0]},
            }
        if crm == "salesforce":
            sf = self.salesforce
            return {
                "instance_url": sf.base_url,
                "verify": sf.ca_path,
                "account": f"sf-{self._account}",
                "daily_reserve": 0,
                "budgets": {"default": [100_000, 1.0]},
                "auth": {
                    "kind": "jwt_bearer",
                    "client_id": sf.client_id,
                    "username": sf.org.api_username,
                    "private_key_pem": self._private,
                    "token_url": sf.token_url,
                },
            }
        raise ValueError(f"no emulator for {crm!r}")

    def write_config(
        self,
        path: str | Path,
        *,
        state: str,
        owners: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> Path:
        """A pair config file (``leadbridge bisync``/``migrate --config``) for both emulators."""
        lines = [f"state = {json.dumps(state)}"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in (extra or {}).items()]
        lines.append("[owners]")
        lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in (owners or {}).items()]
        for crm in ("hubspot", "salesforce"):
            lines.append(f"[crm.{crm}]")
            lines += [f"{k} = {_toml(v)}" for k, v in self.settings(crm).items()]
        target = Path(path)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return target


def _toml(value: object) -> str:
    """A TOML value for the plain data the settings hold (JSON strings are TOML strings)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
