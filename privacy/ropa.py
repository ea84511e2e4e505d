"""The record of processing activities (GDPR Art. 30, nFADP Art. 12), from the config.

Everything a record must state is either in `leadbridge.toml` or follows from it: the
sources (one per connection), the fields pulled from each (the connector's own property
list: data minimisation is visible here), what is written back, the recipients (each
CRM vendor is a processor receiving scores) and where they store data, the purposes and
legal basis, the retention periods and the security measures. Generating it from the
config keeps it true: change a connection, regenerate the record.

Countries come from ``[privacy.connections.<name>].country`` when set, else from the
vendor's known hosting (HubSpot ``api-eu1`` is Frankfurt); an unknown one is reported as
such rather than guessed. Transfers outside Switzerland and the EU/EEA are flagged with
what they need (nFADP Art. 16-17, GDPR Chapter V).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import ConfigError, LeadbridgeError
from leadbridge.privacy.config import Settings
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.writeback import SCORE_FIELDS

__all__ = ["ProcessingRecord", "SourceRecord", "build_record", "fields_pulled", "render_markdown"]

_EEA = frozenset(
    ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
     "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO")
)  # fmt: skip
_ADEQUATE = (
    frozenset(["CH", "GB", "AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "UY"])
    | _EEA
)
_VENDORS: dict[str, tuple[str, str | None]] = {
    "hubspot": ("HubSpot, Inc. (processor)", "US"),
    "salesforce": ("Salesforce, Inc. (processor)", None),
    "activecampaign": ("ActiveCampaign, LLC (processor)", "US"),
}
SECURITY_MEASURES: tuple[str, ...] = (
    "Tamper-evident audit log (hash chain, signed checkpoints exported off-host)",
    "Personal values in the audit log encrypted per person; erasure destroys the key",
    "Erasure propagated to every connected CRM, certificate kept without contact data",
    "Suppression list of keyed fingerprints (HMAC-SHA256), never plaintext identifiers",
    "HTTP API protected by OAuth 2.0 bearer tokens (JWT, per-scope access), reads audited",
    "Credentials only from the environment or 0600 key files; secrets redacted from logs",
    "SQLite secure_delete and VACUUM after erasure and retention runs",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceRecord(_Model):
    """One connection: what is pulled from where, and who receives what."""

    connection: str
    crm: str
    host: str | None
    recipient: str
    country: str | None
    transfer: str
    fields_pulled: tuple[str, ...]
    written_back: tuple[str, ...]
    purposes: tuple[str, ...]
    schedule: str


class ProcessingRecord(_Model):
    """The whole record of processing activities."""

    generated_at: datetime
    config_file: str
    controller: str
    contact: str | None
    purposes: tuple[str, ...]
    legal_basis: str
    data_subjects: tuple[str, ...]
    data_categories: tuple[str, ...]
    profiling: str
    sources: tuple[SourceRecord, ...]
    retention: dict[str, Any]
    security_measures: tuple[str, ...]


def _host(settings: Mapping[str, Any]) -> str | None:
    for key in ("base_url", "instance_url", "api_url"):
        value = settings.get(key)
        if isinstance(value, str) and value:
            return urlparse(value).hostname
    account = settings.get("account")
    if isinstance(account, str) and account:
        return f"{account}.api-us1.com"
    return None


def _country(crm: str, host: str | None) -> str | None:
    if host in ("127.0.0.1", "localhost", "::1"):
        return "local"
    if crm == "hubspot" and host and "-eu1" in host:
        return "DE"
    return _VENDORS.get(crm, ("", None))[1]


def _transfer(country: str | None) -> str:
    if country is None:
        return "unknown: set [privacy.connections.<name>].country"
    if country == "local":
        return "none (local system)"
    if country in _ADEQUATE:
        return "adequate (nFADP Annex 1 / GDPR adequacy)"
    if country == "US":
        return (
            "third country: only to a recipient certified under the Swiss-US / EU-US Data "
            "Privacy Framework, else standard contractual clauses "
            "(nFADP Art. 16-17, GDPR Art. 45-46)"
        )
    return "third country: standard contractual clauses required (nFADP Art. 16(2), GDPR Art. 46)"


def fields_pulled(conn: ConnectionConfig) -> tuple[str, ...]:
    """The vendor fields a connection reads, from that connector's own configuration."""
    settings = conn.settings
    extra = [
        str(v) for key in ("objection_property", "objection_field") if (v := settings.get(key))
    ]
    if conn.crm == "hubspot":
        from leadbridge.connectors.hubspot.config import DEFAULT_PROPERTIES

        props = settings.get("properties", DEFAULT_PROPERTIES)
        return tuple(dict.fromkeys([*props, *settings.get("custom_properties", ()), *extra]))
    if conn.crm == "salesforce":
        from leadbridge.connectors.salesforce.mapping import CONTACT_FIELDS, LEAD_FIELDS

        lead = [f"Lead.{f}" for f in LEAD_FIELDS]
        contact = [f"Contact.{f}" for f in CONTACT_FIELDS]
        custom = [f"Lead.{f}" for f in settings.get("custom_fields", ())]
        return tuple(dict.fromkeys([*lead, *contact, *custom]))
    if conn.crm == "activecampaign":
        from leadbridge.connectors.activecampaign.config import DEFAULT_FIELD_MAP

        field_map = settings.get("field_map", DEFAULT_FIELD_MAP)
        standard = ["email", "firstName", "lastName", "phone", "cdate", "udate"]
        tags = [f"%{tag}%" for tag in [*field_map.values(), *settings.get("custom_fields", ())]]
        return tuple(dict.fromkeys([*standard, *tags, *extra]))
    return _profile_fields(conn)


def _profile_fields(conn: ConnectionConfig) -> tuple[str, ...]:
    from leadbridge.connectors.rest.loader import load_profile

    ref = conn.settings.get("profile") or conn.crm
    try:
        profile = load_profile(str(ref))
    except LeadbridgeError as exc:
        raise ConfigError(f"cannot read the profile of {conn.name!r}: {exc}") from None
    fields: list[str] = []
    for name, stream in profile.streams.items():
        if stream.lead is not None:
            for target, rule in stream.lead.model_dump(exclude_none=True).items():
                if isinstance(rule, dict) and target not in ("consent", "custom"):
                    fields.append(f"{name}.{rule.get('path') or target}")
                elif isinstance(rule, str):
                    fields.append(f"{name}.{rule}")
            for target, rule in {
                **stream.lead.model_dump(exclude_none=True).get("consent", {}),
                **stream.lead.model_dump(exclude_none=True).get("custom", {}),
            }.items():
                path = rule.get("path") if isinstance(rule, dict) else rule
                fields.append(f"{name}.{path or target}")
        if stream.activity is not None:
            fields.append(f"{name}.* (activity records: type, time, lead id, typed values)")
    return tuple(dict.fromkeys(fields))


def _schedule(conn: ConnectionConfig) -> str:
    if conn.cron:
        return f"cron {conn.cron}"
    return f"every {conn.every_minutes or 15:g} minutes"


def build_record(settings: Settings, *, now: datetime | None = None) -> ProcessingRecord:
    """The record of processing activities for this configuration."""
    privacy = settings.privacy
    sources = []
    for conn in settings.base.connection:
        override = privacy.connections.get(conn.name)
        host = _host(conn.settings)
        country = (override.country.upper() if override and override.country else None) or _country(
            conn.crm, host
        )
        recipient = (
            override.recipient if override and override.recipient else None
        ) or _VENDORS.get(conn.crm, (f"{conn.crm} (processor)", None))[0]
        sources.append(
            SourceRecord(
                connection=conn.name,
                crm=conn.crm,
                host=host,
                recipient=recipient,
                country=country,
                transfer=_transfer(country),
                fields_pulled=fields_pulled(conn),
                written_back=tuple(spec.name for spec in SCORE_FIELDS),
                purposes=(
                    override.purposes if override and override.purposes else privacy.purposes
                ),
                schedule=_schedule(conn),
            )
        )
    return ProcessingRecord(
        generated_at=now or datetime.now(UTC),
        config_file=str(settings.file),
        controller=privacy.controller,
        contact=privacy.contact,
        purposes=privacy.purposes,
        legal_basis=privacy.legal_basis,
        data_subjects=privacy.data_subjects,
        data_categories=(
            "identification and contact data (name, e-mail, phone)",
            "professional data (company, job title, seniority, industry, company size)",
            "location (country, region) and language",
            "interaction history (web, e-mail, events, calls, messages) and its timestamps",
            "commercial outcome (open, won, lost)",
            "consent and objection flags",
            "derived data: score, tier, recommended action and the reasons behind them",
        ),
        profiling=(
            "Lead scoring is profiling (GDPR Art. 4(4), nFADP Art. 5(f)). Scores rank "
            "follow-up; no decision with legal or similarly significant effect is taken "
            "solely by them (GDPR Art. 22). An objection stops scoring (Art. 21)."
        ),
        sources=tuple(sources),
        retention=privacy.retention.model_dump(mode="json"),
        security_measures=SECURITY_MEASURES,
    )


def _md(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(record: ProcessingRecord) -> str:
    """A human-readable record (Markdown), for the DPO's register."""
    out = [
        "# Record of processing activities",
        "",
        f"Generated {record.generated_at.isoformat()} from `{record.config_file}`.",
        "",
        f"- **Controller:** {record.controller}",
        f"- **Contact:** {record.contact or 'not set ([privacy].contact)'}",
        f"- **Legal basis:** {record.legal_basis}",
        f"- **Data subjects:** {', '.join(record.data_subjects)}",
        f"- **Profiling:** {record.profiling}",
        "",
        "## Purposes",
        "",
        *[f"- {p}" for p in record.purposes],
        "",
        "## Categories of personal data",
        "",
        *[f"- {c}" for c in record.data_categories],
        "",
        "## Sources and recipients",
        "",
        "| connection | CRM | host | recipient | country | transfer | schedule |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {_md(s.connection)} | {_md(s.crm)} | {_md(s.host or '-')} | {_md(s.recipient)} "
            f"| {_md(s.country or 'unknown')} | {_md(s.transfer)} | {_md(s.schedule)} |"
            for s in record.sources
        ],
        "",
    ]
    for source in record.sources:
        out += [
            f"### Fields pulled from `{source.connection}` (data minimisation)",
            "",
            ", ".join(f"`{f}`" for f in source.fields_pulled) or "none",
            "",
            f"Written back: {', '.join(f'`{f}`' for f in source.written_back)}",
            "",
        ]
    out += ["## Retention", "", "| data | kept for |", "|---|---|"]
    for key, value in record.retention.items():
        if not key.endswith("_days"):
            continue
        shown = "kept" if value is None else f"{value:g} days"
        out.append(f"| {key.removesuffix('_days').replace('_', ' ')} | {shown} |")
    schedule = record.retention.get("schedule")
    out += [
        "",
        f"Enforced by `leadbridge daemon` on the UTC schedule `{schedule}`."
        if schedule
        else "Enforced when `leadbridge privacy retention` runs.",
    ]
    out += ["", "## Security measures (GDPR Art. 32, nFADP Art. 8)", ""]
    out += [f"- {m}" for m in record.security_measures]
    return "\n".join(out) + "\n"
