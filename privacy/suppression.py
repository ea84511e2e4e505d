"""Keeping an erased person out and an objecting person unscored, on every pull.

`PrivacyFilter` is applied to each pulled `Page` before it is staged:

- a lead whose e-mail, phone, lead key or CRM record id is on the *suppression* list is
  dropped, with its activities, outcomes and rejects, so an erasure is not undone by the
  next sync (a CRM that kept a copy, a recycle-bin restore, a re-submitted form);
- a lead on the *objection* list gets ``consent.objects_to_profiling = True`` whatever the
  CRM says, so the engine stops scoring them and clears their written score (GDPR
  Art. 21(2)-(3): an objection to profiling for direct marketing is absolute).

`GuardedConnector` applies the filter by wrapping a connector, which needs no change in
the engine: ``connector = GuardedConnector(connector, PrivacyFilter(registry, fp))``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from leadbridge.core.models import Bookmark, FieldSpec, Lead, Page, ScoreWrite, WriteResult
from leadbridge.core.protocols import CallStats, Connector, SupportsReadBack, SupportsWriteBack
from leadbridge.privacy.identity import Fingerprinter
from leadbridge.privacy.registry import PrivacyRegistry

__all__ = ["GuardedConnector", "PrivacyFilter"]


class PrivacyFilter:
    """Drops suppressed people from a page and flags objecting ones."""

    def __init__(self, registry: PrivacyRegistry, fingerprints: Fingerprinter) -> None:
        self.registry = registry
        self.fp = fingerprints
        self.dropped = 0

    def is_suppressed(self, lead: Lead) -> bool:
        """True when any identifier of `lead` belongs to an erased person."""
        return bool(self.registry.marked("suppressed", self.fp.of_lead(lead)))

    def __call__(self, page: Page, *, system: str | None = None) -> Page:
        """The page without suppressed people, objecting people flagged."""
        lead_fps = {lead.key: self.fp.of_lead(lead) for lead in page.leads}
        key_fps = {
            key: self.fp.lead_key(key)
            for key in {a.lead_key for a in page.activities} | {o.lead_key for o in page.outcomes}
        }
        reject_fps = {
            r.record_id: self.fp.record(system, r.record_id)
            for r in page.rejects
            if system is not None and r.record_id
        }
        every = set(key_fps.values()) | set(reject_fps.values())
        for fps in lead_fps.values():
            every |= fps
        if not every:
            return page
        suppressed = self.registry.marked("suppressed", every)
        objecting = self.registry.marked("objection", every)
        if not suppressed and not objecting:
            return page
        gone = {key for key, fps in lead_fps.items() if fps & suppressed}
        gone |= {key for key, fp in key_fps.items() if fp in suppressed}
        leads = []
        for lead in page.leads:
            if lead.key in gone:
                continue
            if lead_fps[lead.key] & objecting and not lead.consent.objects_to_profiling:
                consent = lead.consent.model_copy(update={"objects_to_profiling": True})
                lead = lead.model_copy(update={"consent": consent})
            leads.append(lead)
        activities = tuple(a for a in page.activities if a.lead_key not in gone)
        outcomes = tuple(o for o in page.outcomes if o.lead_key not in gone)
        rejects = tuple(
            r
            for r in page.rejects
            if not (r.record_id and reject_fps.get(r.record_id) in suppressed)
        )
        self.dropped += (
            len(page.leads) - len(leads)
            + len(page.activities) - len(activities)
            + len(page.outcomes) - len(outcomes)
            + len(page.rejects) - len(rejects)
        )  # fmt: skip
        return page.model_copy(
            update={
                "leads": tuple(leads),
                "activities": activities,
                "outcomes": outcomes,
                "rejects": rejects,
            }
        )


class GuardedConnector:
    """A connector whose pages pass through a `PrivacyFilter`; everything else delegates.

    It offers write-back, read-back and call statistics exactly when the wrapped
    connector does (empty echo streams and zero counts otherwise, which the engine treats
    as "nothing to read back" and "nothing counted").
    """

    def __init__(self, inner: Connector, privacy: PrivacyFilter) -> None:
        if not isinstance(inner, SupportsWriteBack):
            raise TypeError(f"connector {inner.name!r} cannot write back")
        self.inner = inner
        self.writer: SupportsWriteBack = inner
        self.privacy = privacy
        self.name = inner.name

    @property
    def max_batch(self) -> int:
        return self.writer.max_batch

    @property
    def echo_streams(self) -> Sequence[str]:
        return tuple(self.inner.echo_streams) if isinstance(self.inner, SupportsReadBack) else ()

    def check(self) -> None:
        self.inner.check()

    def streams(self) -> Sequence[str]:
        return self.inner.streams()

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        for page in self.inner.read(stream, since):
            yield self.privacy(page, system=self.name)

    def close(self) -> None:
        self.inner.close()

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        self.writer.ensure_fields(fields)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        return self.writer.write(batch)

    def calls(self) -> dict[str, int]:
        return self.inner.calls() if isinstance(self.inner, CallStats) else {}

    def min_calls(self) -> dict[str, int]:
        return self.inner.min_calls() if isinstance(self.inner, CallStats) else {}
