"""Per-subject keys and pseudonyms: what makes crypto-shredding an erasure.

Every person concerned by an audit entry (its *subject*, a natural id such as a lead key)
gets one row here, found by ``lookup = HMAC-SHA256(pepper, id)``:

- a **pseudonym**, ``HMAC-SHA256(pepper, salt ‖ id)`` with a fresh random salt that is
  used once and never stored. The chain carries only this pseudonym. While the row exists
  the pseudonym is found from the id; once the row is deleted nothing links the two, not
  even for someone holding the pepper (a plain ``HMAC(pepper, id)`` in the chain would
  stay linkable forever by whoever keeps the pepper, which is why it is only the lookup).
- a random **Fernet key**, stored wrapped by the master key's wrapping sub-key. It
  encrypts the subject's personal values; deleting it (crypto-shredding) leaves the
  ciphertexts unreadable, and the chain, which only holds their SHA-256, still verifies.

A subject seen again after erasure gets a new row: new pseudonym, new key, no link to the
erased history. Unwrapped keys are cached by (lookup, wrapped bytes), so a key deleted by
another process is never reused here: every use re-reads the row inside the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from leadbridge.audit.keys import AuditKeys
from leadbridge.audit.schema import subjects_table
from leadbridge.core.errors import ConfigError

__all__ = ["SubjectKey", "SubjectVault"]

_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """A subject's pseudonym and its unwrapped data key."""

    pseudonym: str
    fernet: Fernet


class SubjectVault:
    """Creates, finds and destroys subject keys inside the caller's transaction."""

    def __init__(self, keys: AuditKeys) -> None:
        self._pepper = keys.pepper()
        self._wrapper = keys.wrapper()
        self._cache: dict[tuple[str, bytes], Fernet] = {}
        self._lock = threading.Lock()

    def lookup(self, subject: str) -> str:
        """The row key for a natural id (never written to the chain)."""
        return hmac.new(self._pepper, b"lookup\x00" + subject.encode(), hashlib.sha256).hexdigest()

    def _new_pseudonym(self, subject: str) -> str:
        salt = secrets.token_bytes(16)
        digest = hmac.new(self._pepper, b"subject\x00" + salt + subject.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def _unwrap(self, lookup: str, wrapped: bytes) -> Fernet:
        with self._lock:
            cached = self._cache.get((lookup, wrapped))
        if cached is not None:
            return cached
        try:
            fernet = Fernet(self._wrapper.decrypt(wrapped))
        except InvalidToken as exc:
            raise ConfigError(
                "the audit master key cannot unwrap subject keys (wrong key?)", key="master_key"
            ) from exc
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[(lookup, wrapped)] = fernet
        return fernet

    def find(self, conn: sa.Connection, subjects: Iterable[str]) -> dict[str, SubjectKey]:
        """Existing keys for these natural ids (absent ids have none, or were erased)."""
        by_lookup = {self.lookup(s): s for s in set(subjects)}
        found: dict[str, SubjectKey] = {}
        lookups = list(by_lookup)
        for start in range(0, len(lookups), _LOOKUP_CHUNK):
            chunk = lookups[start : start + _LOOKUP_CHUNK]
            rows = conn.execute(
                sa.select(
                    subjects_table.c.lookup,
                    subjects_table.c.pseudonym,
                    subjects_table.c.wrapped_key,
                ).where(subjects_table.c.lookup.in_(chunk))
            ).all()
            for lookup, pseudonym, wrapped in rows:
                found[by_lookup[lookup]] = SubjectKey(pseudonym, self._unwrap(lookup, wrapped))
        return found

    def resolve(self, conn: sa.Connection, subjects: Iterable[str]) -> dict[str, SubjectKey]:
        """Keys for these ids, creating the missing ones (a new subject's first entry)."""
        wanted = set(subjects)
        found = self.find(conn, wanted)
        rows = []
        now = datetime.now(UTC)
        for subject in sorted(wanted - found.keys()):
            data_key = Fernet.generate_key()
            pseudonym = self._new_pseudonym(subject)
            rows.append(
                {
                    "lookup": self.lookup(subject),
                    "pseudonym": pseudonym,
                    "wrapped_key": self._wrapper.encrypt(data_key),
                    "created_at": now,
                }
            )
            found[subject] = SubjectKey(pseudonym, Fernet(data_key))
        if rows:
            conn.execute(subjects_table.insert(), rows)
        return found

    def destroy(self, conn: sa.Connection, subject: str) -> str | None:
        """Delete the subject's key and pseudonym mapping; the pseudonym it had, if any."""
        lookup = self.lookup(subject)
        row = conn.execute(
            sa.select(subjects_table.c.pseudonym).where(subjects_table.c.lookup == lookup)
        ).first()
        if row is None:
            return None
        conn.execute(subjects_table.delete().where(subjects_table.c.lookup == lookup))
        with self._lock:
            for key in [k for k in self._cache if k[0] == lookup]:
                del self._cache[key]
        return str(row[0])

    def key_for_pseudonym(self, conn: sa.Connection, pseudonym: str) -> Fernet | None:
        """The data key behind a pseudonym, for decrypting entries read by sequence."""
        row = conn.execute(
            sa.select(subjects_table.c.lookup, subjects_table.c.wrapped_key).where(
                subjects_table.c.pseudonym == pseudonym
            )
        ).first()
        return None if row is None else self._unwrap(row[0], row[1])
