"""The contract suite's only per-vendor code: one `Harness` per CRM over its emulator.

Every test in this folder is vendor-neutral: it asks the harness to start the emulator
with a few generated leads (fast limits unless throttling is the subject), build the
connector, inject faults, tie timestamps, delete records, and finally to judge what the
connector sent. Requests are recorded on the wire (an httpx transport wrapping the real
one, so TLS and auth are untouched) and each vendor's validator lists the requests that
vendor would refuse: batch and page sizes past its limits, missing required fields.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadbridge.connectors import create_connector
from leadbridge.core.auth import MemoryTokenPersister
from leadbridge.core.http import RetryPolicy, tls_verify
from leadbridge.core.protocols import Connector
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.common.timefmt import now_ms

CRMS = ("hubspot", "salesforce", "activecampaign", "boma")
FAST_RETRY = RetryPolicy(max_attempts=12, base_s=0.005, cap_s=0.05, max_elapsed_s=60.0)
GENERATED_AT = datetime.now(UTC) - timedelta(days=1)
SIZE = 120


@dataclass(frozen=True)
class Sent:
    """One request as it left the client, with the status it got."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


class RecordingTransport(httpx.BaseTransport):
    """Passes every request to a real transport and keeps what was sent."""

    def __init__(self, verify: bool | str = True) -> None:
        self.inner = httpx.HTTPTransport(verify=tls_verify(verify))
        self.sent: list[Sent] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        response = self.inner.handle_request(request)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        url = urlsplit(str(request.url))
        query = parse_qs(url.query, keep_blank_values=True)
        self.sent.append(Sent(request.method, url.path, query, body, response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class Harness(ABC):
    """One CRM behind its emulator, as the vendor-neutral tests see it."""

    crm: str
    lead_stream: str
    delete_stream: str
    emulator: Any
    max_page: int
    transports: list[RecordingTransport] = field(default_factory=list)
    connectors: list[Connector] = field(default_factory=list)
    expiring_credentials: bool = True
    """False when credentials never expire (ActiveCampaign keys): revocation is tested."""
    exact_read_accounting: bool = True
    """False when the emulator pages below the vendor's maximum (to exercise paging), so
    the connector's minimum (counted at the vendor's maximum page) is lower than its use."""

    # -- building -------------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        return self.emulator.ledger

    def _recorder(self, verify: bool | str = True) -> RecordingTransport:
        transport = RecordingTransport(verify)
        self.transports.append(transport)
        return transport

    def connector(self, *, expiring: bool = False, **runtime: Any) -> Connector:
        """A connector recording its requests; `expiring`: on credentials that expire."""
        built = self._build(expiring, runtime)
        self.connectors.append(built)
        return built

    @abstractmethod
    def _build(self, expiring: bool, runtime: dict[str, Any]) -> Connector: ...

    @property
    def sent(self) -> list[Sent]:
        return [s for t in self.transports for s in t.sent]

    def close(self) -> None:
        for connector in self.connectors:
            connector.close()
        for transport in self.transports:
            transport.close()
        self.emulator.stop()

    # -- the emulator's truth and faults --------------------------------------------

    @abstractmethod
    def expected_ids(self) -> set[str]:
        """Every live lead of the lead stream (valid or not)."""
        ...

    def writable_ids(self) -> list[str]:
        """Live leads a score can be written to, oldest id first."""
        return sorted(self.expected_ids(), key=lambda i: (len(i), i))

    @abstractmethod
    def storm(self, kind: str) -> None:
        """Turn on a throttling (``429``) or server-error (``5xx``) storm."""
        ...

    @abstractmethod
    def calm(self) -> None: ...

    def malformed(self, kind: str) -> None:
        self.emulator.faults.malformed_kinds = (kind,)
        self.emulator.faults.malformed = 1.0

    def expire_credentials(self) -> None:
        """Expire every token issued so far (or revoke the API key)."""
        self.emulator.faults.expire_tokens = True

    def renewed(self) -> Connector:
        """A connector with fresh credentials (after a revocation)."""
        return self.connector()

    @abstractmethod
    def tie(self, n: int) -> set[str]:
        """`n` new leads sharing one modified time, later than every existing one."""
        ...

    @abstractmethod
    def delete(self, ids: list[str]) -> None: ...

    def let_a_minute_pass(self) -> None:
        """Move the emulated clock on where the vendor counts whole minutes (Salesforce)."""
        return  # the other vendors count seconds: nothing to move

    def throttled(self) -> int:
        return sum(n for s, n in self.ledger.statuses().items() if s in (429, 403, 503))

    # -- the vendor's judgement -----------------------------------------------------

    def violations(self) -> list[str]:
        """Requests sent so far that the vendor would refuse."""
        out: list[str] = []
        for sent in self.sent:
            out.extend(f"{sent.method} {sent.path}: {v}" for v in self._judge(sent))
        return out

    @abstractmethod
    def _judge(self, sent: Sent) -> list[str]: ...

    @abstractmethod
    def write_requests(self) -> int:
        """State-changing score writes sent (not look-ups, polls or token calls)."""
        ...


def _limit(sent: Sent, name: str) -> int | None:
    values = sent.query.get(name)
    return int(values[0]) if values and values[0].isdigit() else None


# -- HubSpot ----------------------------------------------------------------------------


class HubSpotHarness(Harness):
    def _build(self, expiring: bool, runtime: dict[str, Any]) -> Connector:
        emu = self.emulator
        settings: dict[str, Any] = {
            "base_url": emu.base_url,
            "auth": {"kind": "private_app", "token": emu.private_app_token},
            "budgets": {"default": (100_000, 10.0), "search": (10_000, 1.0)},
            "overlap_s": 0,
            "search_page_size": 40,
            "activity_source": "events",
        }
        persister = None
        if expiring:
            persister = MemoryTokenPersister()
            settings["auth"] = {
                "kind": "oauth",
                "client_id": emu.oauth_client_id,
                "client_secret": emu.oauth_client_secret,
                "token_url": f"{emu.base_url}/oauth/v1/token",
                "authorize_url": f"{emu.base_url}/oauth/authorize",
                "redirect_uri": "http://127.0.0.1:8765/oauth/callback",
            }
            runtime["persister"] = persister
        connector: Any = create_connector(
            "hubspot", settings, transport=self._recorder(), **runtime
        )
        connector.api.http.retry = FAST_RETRY
        if expiring:
            request = connector.authorization_request()
            redirect = httpx.get(request.url, follow_redirects=False)
            callback = parse_qs(urlsplit(redirect.headers["location"]).query)
            connector.complete_authorization(
                request, code=callback["code"][0], state=callback["state"][0]
            )
        return connector  # type: ignore[no-any-return]

    def expected_ids(self) -> set[str]:
        return {str(r.id) for r in self.emulator.portal.contacts.records.values() if not r.archived}

    def storm(self, kind: str) -> None:
        faults = self.emulator.faults
        if kind == "429":
            faults.rate_429 = 0.3
        else:
            faults.rate_5xx = 0.3
        faults.seed = 3

    def calm(self) -> None:
        self.emulator.faults.rate_429 = self.emulator.faults.rate_5xx = 0.0
        self.emulator.faults.malformed = 0.0

    def tie(self, n: int) -> set[str]:
        return set(self.emulator.portal.add_contacts_same_timestamp(n, now_ms()))

    def delete(self, ids: list[str]) -> None:
        portal = self.emulator.portal
        for record_id in ids:
            portal.archive_contact(portal.contacts.records[int(record_id)])

    def _judge(self, sent: Sent) -> list[str]:
        found: list[str] = []
        body = sent.body if isinstance(sent.body, dict) else {}
        if sent.path.endswith("/search"):
            limit = int(body.get("limit") or 10)
            after = int(body.get("after") or 0)
            if limit > 200:
                found.append(f"search limit {limit} > 200")
            if after + limit > 10_000:
                found.append(f"search pages past the 10,000 results cap ({after}+{limit})")
            if len(body.get("filterGroups") or []) > 5:
                found.append("more than 5 filter groups")
        if "/batch/" in sent.path:
            inputs = body.get("inputs") or []
            if len(inputs) > 100:
                found.append(f"batch of {len(inputs)} > 100")
            if sent.path.endswith("/batch/update") and any("id" not in i for i in inputs):
                found.append("batch update input without an id")
        if sent.method == "GET" and (limit := _limit(sent, "limit")) is not None and limit > 100:
            found.append(f"list limit {limit} > 100")
        if sent.status == 400:
            found.append("answered 400")
        return found

    def write_requests(self) -> int:
        return sum(1 for s in self.sent if s.path.endswith("/contacts/batch/update"))


# -- Salesforce -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
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


class SalesforceHarness(Harness):
    private_key: str = ""
    offset_ms: int = 0

    def now_ms(self) -> int:
        return now_ms() + self.offset_ms

    def let_a_minute_pass(self) -> None:
        self.offset_ms += 61_000

    def _build(self, expiring: bool, runtime: dict[str, Any]) -> Connector:
        emu = self.emulator
        settings = {
            "instance_url": emu.base_url,
            "verify": emu.ca_path,
            "account": f"contract-{uuid.uuid4().hex[:8]}",
            "daily_reserve": 0,
            "concurrency_retry_s": 0.01,
            "bulk_poll_s": 0.05,
            "auth": {
                "kind": "jwt_bearer",
                "client_id": emu.client_id,
                "username": emu.org.api_username,
                "private_key_pem": self.private_key,
                "token_url": emu.token_url,
            },
        }
        connector: Any = create_connector(
            "salesforce",
            settings,
            transport=self._recorder(emu.ca_path),
            clock=lambda: datetime.fromtimestamp(self.now_ms() / 1000, UTC),
            **runtime,
        )
        connector.api.http.retry = FAST_RETRY
        return connector  # type: ignore[no-any-return]

    def expected_ids(self) -> set[str]:
        return {str(row["Id"]) for row in self.emulator.org.rows("Lead")}

    def writable_ids(self) -> list[str]:
        return sorted(str(r["Id"]) for r in self.emulator.org.rows("Lead") if not r["IsConverted"])

    def storm(self, kind: str) -> None:
        faults = self.emulator.faults
        if kind == "429":
            faults.rate_limited = 0.3  # Salesforce throttles with 403 REQUEST_LIMIT_EXCEEDED
        else:
            faults.rate_5xx = 0.3
        faults.seed = 3

    def calm(self) -> None:
        faults = self.emulator.faults
        faults.rate_limited = faults.rate_5xx = faults.malformed = 0.0

    def tie(self, n: int) -> set[str]:
        from leadbridge.emulators.salesforce.generator import add_same_timestamp

        org = self.emulator.org
        return set(add_same_timestamp(org, n, org.clock(), seed=5))

    def delete(self, ids: list[str]) -> None:
        for record_id in ids:
            self.emulator.org.delete("Lead", record_id)

    def _judge(self, sent: Sent) -> list[str]:
        found: list[str] = []
        if sent.path.endswith("/composite/sobjects"):
            records = (sent.body or {}).get("records") or [] if isinstance(sent.body, dict) else []
            if len(records) > 200:
                found.append(f"collection of {len(records)} > 200")
            for record in records:
                if not isinstance(record, dict) or "type" not in (record.get("attributes") or {}):
                    found.append("collection record without attributes.type")
                    break
                if sent.method == "PATCH" and not (record.get("Id") or record.get("id")):
                    found.append("update without an Id")
                    break
        if sent.path.endswith("/query") and sent.query.get("q"):
            soql = sent.query["q"][0]
            if len(soql) > 100_000:
                found.append("SOQL longer than 100,000 characters")
        if len(sent.path) + sum(len(k) + len(v[0]) for k, v in sent.query.items()) > 16_384:
            found.append("URI longer than 16,384 characters")
        if sent.status == 400:
            found.append("answered 400")
        return found

    def write_requests(self) -> int:
        return sum(
            1 for s in self.sent if s.method == "PATCH" and s.path.endswith("/composite/sobjects")
        )


# -- ActiveCampaign ---------------------------------------------------------------------


class ActiveCampaignHarness(Harness):
    api_key: str = ""

    def _build(self, expiring: bool, runtime: dict[str, Any]) -> Connector:
        emu = self.emulator
        settings = {
            "base_url": emu.api_url,
            "api_key": self.api_key or emu.api_key,
            "allow_any_base_url": True,
            "budgets": {"default": [10_000, 1.0]},
            "import_poll_interval_s": 0.1,
            "page_size": 25,
            "delete_sweep_interval_s": 0,
        }
        connector: Any = create_connector(
            "activecampaign", settings, transport=self._recorder(), **runtime
        )
        connector.api.http.retry = connector.api.bulk.retry = FAST_RETRY
        return connector  # type: ignore[no-any-return]

    def expected_ids(self) -> set[str]:
        return {str(i) for i in self.emulator.account.contacts}

    def storm(self, kind: str) -> None:
        faults = self.emulator.faults
        if kind == "429":
            faults.rate_throttle = 0.15  # each throttle pauses the account's shared limiter
            faults.retry_after_s = 0
        else:
            faults.rate_5xx = 0.3
        faults.seed = 3

    def calm(self) -> None:
        faults = self.emulator.faults
        faults.rate_throttle = faults.rate_5xx = faults.malformed = 0.0

    def expire_credentials(self) -> None:
        self.api_key = f"rotated-{uuid.uuid4().hex}"
        self.emulator.rotate_keys(self.api_key)

    def tie(self, n: int) -> set[str]:
        return {str(i) for i in self.emulator.account.same_udate(n, int(time.time()))}

    def delete(self, ids: list[str]) -> None:
        for contact_id in ids:
            self.emulator.account.delete_contact(int(contact_id))

    def _judge(self, sent: Sent) -> list[str]:
        found: list[str] = []
        if sent.method == "GET" and (limit := _limit(sent, "limit")) is not None and limit > 100:
            found.append(f"limit {limit} > 100 (ActiveCampaign clamps it silently)")
        if len(sent.query.get("ids[]", [])) > 100:
            found.append("more than 100 ids[] in one look-up")
        if sent.path.endswith("/import/bulk_import"):
            contacts = sent.body.get("contacts") if isinstance(sent.body, dict) else None
            if not isinstance(contacts, list) or not 0 < len(contacts) <= 250:
                found.append("bulk import needs 1 to 250 contacts")
            elif any(not isinstance(c, dict) or not c.get("email") for c in contacts):
                found.append("bulk import row without an e-mail")
        if sent.status in (400, 422):
            found.append(f"answered {sent.status}")
        return found

    def write_requests(self) -> int:
        writes = ("/import/bulk_import", "/contact/sync", "/fieldValues")
        return sum(1 for s in self.sent if s.method == "POST" and s.path.endswith(writes))


# -- BOMA (the REST profile) ------------------------------------------------------------


class BomaHarness(Harness):
    def _build(self, expiring: bool, runtime: dict[str, Any]) -> Connector:
        from leadbridge.connectors.rest import RestConnector, parse_profile, parse_settings

        emu = self.emulator
        text = resources.files("leadbridge.mappings").joinpath("boma.toml").read_text()
        data = tomllib.loads(text)
        for stream in data["streams"].values():
            stream["pagination"]["limit"] = self.max_page  # several pages from a few leads
        settings = parse_settings(
            {
                "profile": "boma",
                "base_url": emu.base_url + "/v1",
                "client_id": emu.client_id,
                "client_secret": emu.client_secret,
                "retry_base_s": 0.005,
                "retry_cap_s": 0.05,
            }
        )
        return RestConnector(
            parse_profile(data, file="boma.toml"),
            settings,
            transport=self._recorder(),
            token_transport=self._recorder(),
        )

    def expected_ids(self) -> set[str]:
        return {str(i) for i in self.emulator.store.leads}

    def storm(self, kind: str) -> None:
        faults = self.emulator.faults
        if kind == "429":
            faults.rate_429 = 0.3
            faults.retry_after_s = 0
        else:
            faults.rate_5xx = 0.3
        faults.seed = 3

    def calm(self) -> None:
        faults = self.emulator.faults
        faults.rate_429 = faults.rate_5xx = faults.malformed = 0.0

    def tie(self, n: int) -> set[str]:
        from leadbridge.emulators.boma import add_same_timestamp

        return set(add_same_timestamp(self.emulator.store, n, now_ms()))

    def delete(self, ids: list[str]) -> None:
        self.emulator.delete(ids)

    def _judge(self, sent: Sent) -> list[str]:
        found: list[str] = []
        if sent.method == "GET" and (limit := _limit(sent, "limit")) is not None and limit > 200:
            found.append(f"limit {limit} > 200")
        if sent.method == "PATCH":
            body = sent.body if isinstance(sent.body, dict) else {}
            extra = set(body) - {"lead_id", "custom_fields"}
            if extra:
                found.append(f"PATCH of fields BOMA does not let clients write: {sorted(extra)}")
        if sent.path.endswith("/leads/batch"):
            leads = sent.body.get("leads") if isinstance(sent.body, dict) else None
            if not isinstance(leads, list) or len(leads) > 50:
                found.append("batch needs at most 50 leads")
        if sent.status in (400, 422):
            found.append(f"answered {sent.status}")
        return found

    def write_requests(self) -> int:
        return sum(1 for s in self.sent if s.method == "PATCH" or s.path.endswith("/leads/batch"))


# -- the fixture --------------------------------------------------------------------------


def start(crm: str, keypair: tuple[str, str], size: int = SIZE) -> Harness:
    """The emulator with `size` generated leads at fast limits, and its harness."""
    if crm == "hubspot":
        from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal

        limits = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
        hs = HubSpotEmulator(generate_portal(size, seed=7, now=GENERATED_AT), limits=limits)
        return HubSpotHarness("hubspot", "contacts", "archived", hs.start(), max_page=40)
    if crm == "salesforce":
        from leadbridge.emulators.salesforce import (
            SalesforceEmulator,
            SalesforceLimits,
            generate_salesforce,
        )

        sf = SalesforceEmulator(
            generate_salesforce(size, seed=11, invalid_rate=0.02),
            limits=SalesforceLimits(query_page_size=25, bulk_job_delay_s=0.05),
            jwt_public_key_pem=keypair[1],
        )
        harness = SalesforceHarness("salesforce", "leads", "deleted", sf.start(), max_page=25)
        harness.private_key = keypair[0]
        harness.exact_read_accounting = False  # Salesforce pages hold up to 2,000 rows
        sf.org.clock = harness.now_ms
        return harness
    if crm == "activecampaign":
        from leadbridge.emulators.activecampaign import (
            ActiveCampaignEmulator,
            ActiveCampaignLimits,
            generate_activecampaign,
        )

        limits = ActiveCampaignLimits(requests_per_s=10_000, import_delay_s=0.05)
        account = generate_activecampaign(size, seed=5, now=GENERATED_AT)
        ac = ActiveCampaignEmulator(account, limits=limits)
        harness = ActiveCampaignHarness(
            "activecampaign", "contacts", "deletes", ac.start(), max_page=25
        )
        harness.expiring_credentials = False
        return harness
    from leadbridge.emulators.boma import BomaEmulator, BomaLimits, generate_boma

    store = generate_boma(size, seed=11, now=GENERATED_AT, invalid_every=40)
    boma = BomaEmulator(store, limits=BomaLimits(requests=100_000))
    return BomaHarness("boma", "leads", "deleted", boma.start(), max_page=25)


@pytest.fixture(params=CRMS)
def harness(request: pytest.FixtureRequest, keypair: tuple[str, str]) -> Iterator[Harness]:
    built = start(request.param, keypair)
    try:
        yield built
    finally:
        built.close()


# -- `leadbridge demo --crm NAME` runs in the background --------------------------------

DEMO_FILE = "test_contract_demo.py"


def demo_cli_supports_crm() -> bool:
    """Whether the installed CLI's `demo` command takes ``--crm``."""
    import inspect

    from leadbridge.cli.app import demo

    return "crm" in inspect.signature(demo).parameters


@dataclass
class DemoRun:
    """One `leadbridge demo --crm NAME --leads 300 --json` subprocess."""

    crm: str
    process: subprocess.Popen[str]

    def result(self, timeout: float = 280.0) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


@pytest.fixture(scope="session", autouse=True)
def demo_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, DemoRun]]:
    """Start the four demos with the session when their tests are selected.

    At the emulators' default limits ActiveCampaign's demo takes about three minutes
    (5 requests/s, three per-contact calls per lead): started first, it runs while the
    rest of the suite does.
    """
    wanted = any(item.path.name == DEMO_FILE for item in request.session.items)
    runs: dict[str, DemoRun] = {}
    if wanted and demo_cli_supports_crm():
        for crm in CRMS:
            folder = tmp_path_factory.mktemp(f"demo-{crm}")
            command = [
                sys.executable,
                "-c",
                "from leadbridge.cli.app import main; main()",
                "demo",
                "--crm",
                crm,
                "--leads",
                "300",
                "--json",
                "--state",
                str(folder / "state.db"),
            ]
            process = subprocess.Popen(
                command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            runs[crm] = DemoRun(crm, process)
    try:
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.communicate()
