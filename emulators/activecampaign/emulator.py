"""`ActiveCampaignEmulator`: an account served over real HTTP on 127.0.0.1.

with ActiveCampaignEmulator(generate_activecampaign(500)) as ac:
    httpx.get(f"{ac.api_url}/contacts", headers={"Api-Token": ac.api_key})
"""

from __future__ import annotations

from leadbridge.emulators.activecampaign.account import Account
from leadbridge.emulators.activecampaign.app import build_app
from leadbridge.emulators.activecampaign.config import ActiveCampaignFaults, ActiveCampaignLimits
from leadbridge.emulators.activecampaign.gateway import API_PREFIX, Gateway
from leadbridge.emulators.activecampaign.generator import mutate_account
from leadbridge.emulators.common.emulator import EmulatorServer
from leadbridge.emulators.common.ledger import Ledger

__all__ = ["DEFAULT_API_KEY", "ActiveCampaignEmulator"]

DEFAULT_API_KEY = "ac-emulator-key-0123456789abcdef"


class ActiveCampaignEmulator(EmulatorServer):
    """ActiveCampaign's API v3 (as the connector uses it) on a background uvicorn thread."""

    def __init__(
        self,
        data: Account | None = None,
        *,
        limits: ActiveCampaignLimits | None = None,
        faults: ActiveCampaignFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: tuple[str, ...] = (DEFAULT_API_KEY,),
    ) -> None:
        self.limits = limits if limits is not None else ActiveCampaignLimits()
        self.account = data if data is not None else Account(timezone=self.limits.timezone)
        self.faults = faults if faults is not None else ActiveCampaignFaults()
        self.ledger = Ledger()
        self.api_keys: set[str] = set(api_keys)
        self.gateway = Gateway(
            self.account,
            limits=self.limits,
            faults=self.faults,
            ledger=self.ledger,
            api_keys=self.api_keys,
        )
        self._serve(build_app(self.gateway), host=host, port=port, name="activecampaign")

    @property
    def api_key(self) -> str:
        """One accepted key (the first, in sorted order)."""
        return sorted(self.api_keys)[0]

    @property
    def api_url(self) -> str:
        """The API root (`…/api/3`), what a connection's ``base_url`` points at."""
        return self.base_url + API_PREFIX

    def rotate_keys(self, *keys: str) -> None:
        """Replace the accepted API keys (a revoked key answers 403 from now on)."""
        self.api_keys.clear()
        self.api_keys.update(keys)

    def mutate(self, fraction: float, *, seed: int) -> list[str]:
        """Edit ~`fraction` of contacts (a field + new activity); returns their ids."""
        return mutate_account(self.account, fraction, seed=seed)
