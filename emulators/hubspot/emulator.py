"""`HubSpotEmulator`: a portal served over real HTTP on 127.0.0.1.

with HubSpotEmulator(generate_portal(500)) as hs:
    httpx.get(f"{hs.base_url}/crm/v3/objects/contacts",
              headers={"Authorization": "Bearer pat-na1-emulator-token"})
"""

from __future__ import annotations

from leadbridge.emulators.common.emulator import EmulatorServer
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.hubspot.app import build_app
from leadbridge.emulators.hubspot.config import HubSpotFaults, HubSpotLimits
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.generator import mutate_portal
from leadbridge.emulators.hubspot.oauth import OAuthAuthority
from leadbridge.emulators.hubspot.portal import Portal

__all__ = ["HubSpotEmulator"]


class HubSpotEmulator(EmulatorServer):
    """HubSpot's CRM v3 API (as the connector uses it) on a background uvicorn thread."""

    def __init__(
        self,
        portal: Portal | None = None,
        *,
        limits: HubSpotLimits | None = None,
        faults: HubSpotFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        private_app_token: str = "pat-na1-emulator-token",
        oauth_client_id: str = "emulator-client",
        oauth_client_secret: str = "emulator-secret",
    ) -> None:
        self.portal = portal if portal is not None else Portal()
        self.limits = limits if limits is not None else HubSpotLimits()
        self.faults = faults if faults is not None else HubSpotFaults()
        self.ledger = Ledger()
        self.private_app_token = private_app_token
        self.oauth_client_id = oauth_client_id
        self.oauth_client_secret = oauth_client_secret
        self.oauth = OAuthAuthority(
            client_id=oauth_client_id,
            client_secret=oauth_client_secret,
            private_app_token=private_app_token,
            token_ttl_s=self.limits.token_ttl_s,
            portal_id=self.portal.portal_id,
        )
        self.gateway = Gateway(
            self.portal,
            limits=self.limits,
            faults=self.faults,
            ledger=self.ledger,
            oauth=self.oauth,
        )
        self._serve(build_app(self.gateway), host=host, port=port, name="hubspot")

    def mutate(self, fraction: float, *, seed: int) -> list[str]:
        """Edit ~`fraction` of contacts (a property + a new activity); returns their ids."""
        return mutate_portal(self.portal, fraction, seed=seed)
