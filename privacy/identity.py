"""Who a privacy request is about: normalised identifiers and their keyed fingerprints.

A request names a person by e-mail, phone or lead key. E-mails are compared after NFC
and case folding, phones in E.164 (parsed with the configured default region), so
``Ana@Example.CH`` and ``+41 79 123 45 67`` match however each CRM spelled them.

The suppression and objection lists must outlive the erased data without holding it,
so they store ``HMAC-SHA256(privacy key, kind ‖ value)``: an unkeyed hash of an e-mail is
reversible by enumeration, a keyed one is not without the key. The key comes from
``LEADBRIDGE_PRIVACY_KEY`` or ``<key_dir>/privacy.key`` (created 0600 on first use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

import phonenumbers
from pydantic import BaseModel, ConfigDict, model_validator

from leadbridge.audit.keys import write_secret_file
from leadbridge.core.errors import ConfigError
from leadbridge.core.models import Lead

__all__ = [
    "PRIVACY_KEY_ENV",
    "Fingerprinter",
    "SubjectQuery",
    "load_privacy_key",
    "normalise_email",
    "normalise_phone",
]

PRIVACY_KEY_ENV = "LEADBRIDGE_PRIVACY_KEY"
PRIVACY_KEY_FILE = "privacy.key"


def normalise_email(value: str) -> str:
    """NFC, case-folded, trimmed: the form two spellings of one address share."""
    return unicodedata.normalize("NFC", value).strip().casefold()


def normalise_phone(value: str, region: str = "CH") -> str:
    """E.164 when the number parses, else its digits (with a leading + kept)."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    digits = "".join(ch for ch in value if ch.isdigit())
    return ("+" + digits) if value.strip().startswith("+") else digits


class SubjectQuery(BaseModel):
    """How a request names its person: any of e-mail, phone, lead keys (at least one)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    email: str | None = None
    phone: str | None = None
    lead_keys: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _some(self) -> SubjectQuery:
        if not (self.email or self.phone or self.lead_keys):
            raise ValueError("name the person by email, phone or lead key")
        return self


class Fingerprinter:
    """Keyed, one-way fingerprints of identifiers (never stored in clear)."""

    def __init__(self, key: bytes, *, region: str = "CH") -> None:
        if len(key) < 32:
            raise ConfigError("the privacy key must be at least 32 bytes", key="privacy.key")
        self._key = key
        self.region = region

    def _mac(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def email(self, value: str) -> str:
        return self._mac("email", normalise_email(value))

    def phone(self, value: str) -> str:
        return self._mac("phone", normalise_phone(value, self.region))

    def lead_key(self, value: str) -> str:
        return self._mac("lead", value)

    def record(self, system: str, source_id: str) -> str:
        return self._mac("record", f"{system}\x00{source_id}")

    def of_lead(self, lead: Lead) -> set[str]:
        """Every fingerprint a lead carries: e-mail, phone, key and CRM record ids."""
        found = {self.lead_key(lead.key)}
        if lead.email:
            found.add(self.email(lead.email))
        if lead.phone and normalise_phone(lead.phone, self.region):
            found.add(self.phone(lead.phone))
        found.update(self.record(system, sid) for system, sid in lead.source_ids.items())
        return found

    def of_query(self, query: SubjectQuery) -> set[str]:
        found = {self.lead_key(k) for k in query.lead_keys}
        if query.email:
            found.add(self.email(query.email))
        if query.phone:
            found.add(self.phone(query.phone))
        return found

    def of_leads(self, leads: Iterable[Lead]) -> set[str]:
        found: set[str] = set()
        for lead in leads:
            found |= self.of_lead(lead)
        return found


def load_privacy_key(
    key_dir: Path, *, env: Mapping[str, str] | None = None, create: bool = True
) -> bytes:
    """The privacy key: the environment variable, else the key file (created on first use)."""
    environ = os.environ if env is None else env
    text = environ.get(PRIVACY_KEY_ENV)
    source = PRIVACY_KEY_ENV
    if not text:
        path = key_dir / PRIVACY_KEY_FILE
        source = str(path)
        if not path.exists():
            if not create:
                raise ConfigError("privacy key file not found", file=source)
            write_secret_file(path, base64.urlsafe_b64encode(secrets.token_bytes(32)) + b"\n")
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    f"key file is accessible by group/others (mode {stat.S_IMODE(mode):o}); "
                    "chmod 600 it",
                    file=source,
                )
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the privacy key: {exc}", file=source) from None
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError("the privacy key is not urlsafe base64", file=source) from None
    if len(key) < 32:
        raise ConfigError("the privacy key must decode to at least 32 bytes", file=source)
    return key
