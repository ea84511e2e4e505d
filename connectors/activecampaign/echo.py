"""Echo suppression: recognise a contact whose only change is leadbridge's own write.

Writing a score bumps the contact's ``udate`` (every field-value write does), so the
contact comes back in the next incremental list. For most CRMs a re-read costs one list
row; here it also costs the three per-contact enrichment calls (field values, activity
feed, tracking logs), which would triple the price of every write. So the connector
remembers, per contact:

- what it last *saw* when it enriched it: the ``udate`` and a hash of the native
  attributes the list returns (e-mail, names, phone);
- what the CRM's ``udate`` became after its own write: an instant window bracketed by
  the server's ``Date`` headers (bulk import: from the POST that queued it to the status
  read that saw it completed, plus one second for servers that cache ``Date``), or the
  exact ``udate`` ``contact/sync`` answers with.

An echo is registered only for a contact that did not change between the pull and the
write (the pre-write e-mail look-up shows the same ``udate`` and native attributes). A
later list row is taken for our echo when its ``udate`` lies in the window and its native
attributes are unchanged; the window then collapses to that exact ``udate``, so overlap
re-reads keep matching. Its enrichment is skipped and no lead is emitted for it (the
state store already holds that content); the activity floor it would have used is kept
and applied at its next enrichment, so no activity is lost by the skip.

The trade-off, precisely: a *foreign* edit that only touches custom field values (or
adds activity that bumps ``udate``) and lands inside the write window — between the
pre-write look-up and the import's completion, typically a few seconds — is taken for
our echo and picked up only at the contact's next change. Native-attribute edits are
always caught. The memory is per process (about 100 bytes per pulled contact): after a
restart the echoes still inside the overlap window are enriched once more (correct,
just the old price).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from leadbridge.connectors.activecampaign.mapping import ContactWire, parse_time
from leadbridge.core.errors import MappingError

__all__ = ["EchoMemory"]


def _native(wire: ContactWire) -> int:
    return hash((wire.email or "", wire.firstName or "", wire.lastName or "", wire.phone or ""))


def _udate_s(wire: ContactWire) -> int | None:
    try:
        moment = parse_time(wire.udate, "udate")
    except MappingError:
        return None
    return None if moment is None else int(moment.timestamp())


class EchoMemory:
    """Per-contact observations and write windows; thread-safe (pull and write overlap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[int, tuple[int, int]] = {}
        """contact id -> (udate epoch s, native hash) at its last enrichment or echo."""
        self._windows: dict[int, tuple[int, int]] = {}
        """contact id -> [low, high] epoch seconds its udate took after our write."""
        self._deferred: dict[int, datetime | None] = {}
        """contact id -> the activity floor a skipped enrichment would have used."""
        self.skipped = 0
        """Contacts whose enrichment was skipped as our own echo (3 calls each saved)."""

    # -- the pull side --------------------------------------------------------------

    def observed(self, wire: ContactWire) -> None:
        """An enriched contact: remember its udate and native attributes."""
        udate = _udate_s(wire)
        if udate is None:
            return
        with self._lock:
            self._seen[int(wire.id)] = (udate, _native(wire))
            self._windows.pop(int(wire.id), None)

    def is_echo(self, wire: ContactWire, activity_after: datetime | None) -> bool:
        """True if this row is only our write's echo (and note the skipped activity floor)."""
        udate = _udate_s(wire)
        contact = int(wire.id)
        if udate is None:
            return False
        with self._lock:
            window = self._windows.get(contact)
            seen = self._seen.get(contact)
            if window is None or seen is None or seen[1] != _native(wire):
                return False
            if not window[0] <= udate <= window[1]:
                return False
            self._windows[contact] = (udate, udate)
            self._seen[contact] = (udate, seen[1])
            if contact in self._deferred:
                earlier = self._deferred[contact]
                if earlier is not None and activity_after is not None:
                    self._deferred[contact] = min(earlier, activity_after)
                else:
                    self._deferred[contact] = None
            else:
                self._deferred[contact] = activity_after
            self.skipped += 1
            return True

    def activity_floor(self, contact_id: str, after: datetime | None) -> datetime | None:
        """The `after` for an enrichment: lowered to what skipped enrichments would have used."""
        with self._lock:
            if int(contact_id) not in self._deferred:
                return after
            earlier = self._deferred.pop(int(contact_id))
        if earlier is None or after is None:
            return None
        return min(earlier, after)

    # -- the write side -------------------------------------------------------------

    def unchanged(self, raw: Mapping[str, Any]) -> bool:
        """A pre-write look-up row shows the contact exactly as we last saw it."""
        try:
            wire = ContactWire.model_validate(raw)
        except ValidationError:
            return False
        udate = _udate_s(wire)
        if udate is None or not wire.id.isdigit():
            return False
        with self._lock:
            return self._seen.get(int(wire.id)) == (udate, _native(wire))

    def wrote(self, contact_ids: list[str], low: int, high: int) -> None:
        """Our write set these contacts' udate somewhere in [low, high] (epoch seconds)."""
        with self._lock:
            for contact_id in contact_ids:
                self._windows[int(contact_id)] = (low, high)
