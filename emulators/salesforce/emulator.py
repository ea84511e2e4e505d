"""`SalesforceEmulator`: an org served over HTTPS on 127.0.0.1.

simple-salesforce always builds ``https://`` URLs, so the emulator serves TLS with a
certificate generated at start; clients trust it through ``verify=emulator.ca_path``.

    with SalesforceEmulator(generate_salesforce(500)) as sf:
        httpx.get(f"{sf.base_url}/services/data/v60.0/limits",
                  headers={"Authorization": f"Bearer {sf.session_id}"}, verify=sf.ca_path)
"""

from __future__ import annotations

from leadbridge.core.errors import LeadbridgeError
from leadbridge.emulators.common.emulator import ContextServed
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.common.server import ServerThread
from leadbridge.emulators.common.tls import SelfSignedCertificate
from leadbridge.emulators.salesforce.app import build_app
from leadbridge.emulators.salesforce.bulk import BulkJobs
from leadbridge.emulators.salesforce.config import SalesforceFaults, SalesforceLimits
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.generator import mutate_org
from leadbridge.emulators.salesforce.oauth import OAuthServer
from leadbridge.emulators.salesforce.org import Org

__all__ = ["SalesforceEmulator"]

ORG_ID = "00D8d000000LbOrgEAC"


class SalesforceEmulator(ContextServed):
    """Salesforce's REST, Tooling, Bulk 2.0 and OAuth APIs (as integrations use them)."""

    def __init__(
        self,
        org: Org | None = None,
        *,
        limits: SalesforceLimits | None = None,
        faults: SalesforceFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        session_id: str = "00D8d000000LbOrg!emulator-session-id",
        client_id: str = "3MVG9emulator.consumer.key",
        client_secret: str = "emulator-consumer-secret",
        redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8765/oauth/callback",),
        jwt_public_key_pem: str | None = None,
    ) -> None:
        self.org = org if org is not None else Org()
        self.limits = limits if limits is not None else SalesforceLimits()
        self.faults = faults if faults is not None else SalesforceFaults()
        self.org.bin_horizon_days = self.limits.deleted_horizon_days
        self.ledger = Ledger()
        self.session_id = session_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.oauth = OAuthServer(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=redirect_uris,
            jwt_public_key_pem=jwt_public_key_pem,
            usernames=lambda: {
                str(u["Username"]) for u in self.org.rows("User") if u.get("IsActive")
            },
            session_timeout_s=lambda: self.limits.session_timeout_s,
            rotate_refresh=lambda: self.limits.rotate_refresh_tokens,
            org_id=ORG_ID,
            static_session_id=session_id,
        )
        self.gateway = Gateway(
            self.org,
            limits=self.limits,
            faults=self.faults,
            ledger=self.ledger,
            oauth=self.oauth,
            org_id=ORG_ID,
        )
        self.jobs = BulkJobs(self.org, self.ledger, self.limits.bulk_job_delay_s)
        self._host = host
        self._port = port
        self._tls: SelfSignedCertificate | None = None
        self._server: ServerThread | None = None

    @property
    def base_url(self) -> str:
        """`https://127.0.0.1:<port>` (the instance URL); valid after `start()`."""
        if self._server is None:
            raise LeadbridgeError("SalesforceEmulator: base_url is only known after start()")
        return self._server.base_url

    @property
    def ca_path(self) -> str:
        """The certificate to pass as ``verify=`` (valid after `start()`)."""
        if self._tls is None:
            raise LeadbridgeError("SalesforceEmulator: ca_path is only known after start()")
        return self._tls.ca_path

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/services/oauth2/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/services/oauth2/authorize"

    def start(self) -> SalesforceEmulator:
        """Serve in the background; returns self once requests are accepted."""
        if self._server is not None:
            return self
        self._tls = SelfSignedCertificate("salesforce-emulator")
        server = ServerThread(
            build_app(self.gateway, self.jobs),
            host=self._host,
            port=self._port,
            name="salesforce",
            ssl_certfile=str(self._tls.cert_path),
            ssl_keyfile=str(self._tls.key_path),
        )
        server.start()
        self._server = server
        self.oauth.instance_url = server.base_url
        return self

    def stop(self) -> None:
        """Stop serving and delete the key material."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tls is not None:
            self._tls.close()
            self._tls = None

    def mutate(self, fraction: float, *, seed: int) -> list[str]:
        """Edit ~`fraction` of leads and contacts (a field + a new task); returns their ids."""
        return mutate_org(self.org, fraction, seed=seed)
