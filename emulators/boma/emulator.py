"""`BomaEmulator`: a BOMA account served over real HTTP on 127.0.0.1.

    with BomaEmulator(generate_boma(500)) as boma:
        httpx.get(f"{boma.base_url}/v1/leads",
                  headers={"Authorization": f"Bearer {boma.static_token}"})

The same server also answers the differently shaped ``/example`` API (API-key auth, page
numbers) that the second bundled REST profile describes.
"""

from __future__ import annotations

from leadbridge.emulators.boma.app import build_app
from leadbridge.emulators.boma.auth import TokenAuthority
from leadbridge.emulators.boma.config import BomaFaults, BomaLimits
from leadbridge.emulators.boma.gateway import Gateway
from leadbridge.emulators.boma.generator import mutate_boma
from leadbridge.emulators.boma.store import BomaStore
from leadbridge.emulators.common.emulator import EmulatorServer
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.common.timefmt import now_ms

__all__ = ["BomaEmulator"]


class BomaEmulator(EmulatorServer):
    """BOMA's REST API v1 (and the /example API) on a background uvicorn thread."""

    def __init__(
        self,
        data: BomaStore | None = None,
        *,
        limits: BomaLimits | None = None,
        faults: BomaFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "leadbridge-emulator",
        client_secret: str = "boma-emulator-secret",
        static_token: str = "boma_pat_emulator_token",
        api_key: str = "example-emulator-api-key",
    ) -> None:
        self.store = data if data is not None else BomaStore()
        self.limits = limits if limits is not None else BomaLimits()
        self.faults = faults if faults is not None else BomaFaults()
        self.ledger = Ledger()
        self.client_id = client_id
        self.client_secret = client_secret
        self.static_token = static_token
        self.api_key = api_key
        self.authority = TokenAuthority(
            client_id=client_id,
            client_secret=client_secret,
            static_token=static_token,
            api_key=api_key,
            token_ttl_s=self.limits.token_ttl_s,
        )
        self.gateway = Gateway(
            self.store,
            limits=self.limits,
            faults=self.faults,
            ledger=self.ledger,
            authority=self.authority,
        )
        self._serve(build_app(self.gateway), host=host, port=port, name="boma")

    def mutate(self, fraction: float, *, seed: int) -> list[str]:
        """Edit ~`fraction` of leads (a field or dossier + a new activity); returns their ids."""
        return mutate_boma(self.store, fraction, seed=seed)

    def delete(self, lead_ids: list[str]) -> list[str]:
        """Delete leads (they are then listed by ``GET /v1/leads/deleted``)."""
        at = now_ms()
        return [i for i in lead_ids if i.isdigit() and self.store.delete_lead(int(i), at)]
