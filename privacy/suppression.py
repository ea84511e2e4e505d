"""Keeping an erased person out and an objecting person unscored, on every pull.

`PrivacyFilter` is applied to each pulled `Page` before it is staged:

- a lead whose e-mail, phone, lead key or CRM record id is on the *suppression* list is
  dropped, with its activities, outcomes and rejects, so an erasure is not undone by the
  next sync (a CRM that kept a copy, a recycle-bin restore, a re-submitted form);
- a lead on the *objection* list gets ``consent.objects_to_profiling = True`` whatever the
  CRM says, so the engine stops scoring them and clears their written score (GDPR
  Art. 21(2)-(3): an objection to profiling for direct marketing is absolute).

The sync engine takes it as its ``page_filter``; `system` names the CRM (the connector's
name) so rejected records are matched by their record id too.
"""

from __future__ import annotations

from leadbridge.core.models import Lead, Page
from leadbridge.privacy.identity import Fingerprinter
from leadbridge.privacy.registry import PrivacyRegistry

__all__ = ["PrivacyFilter"]


class PrivacyFilter:
    """Drops suppressed people from a page and flags objecting ones."""

    def __init__(
        self, registry: PrivacyRegistry, fingerprints: Fingerprinter, *, system: str | None = None
    ) -> None:
        self.registry = registry
        self.fp = fingerprints
        self.system = system
        self.dropped = 0

    def is_suppressed(self, lead: Lead) -> bool:
        """True when any identifier of `lead` belongs to an erased person."""
        return bool(self.registry.marked("suppressed", self.fp.of_lead(lead)))

    def __call__(self, page: Page) -> Page:
        """The page without suppressed people, objecting people flagged."""
        system = self.system
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
