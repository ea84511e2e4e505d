"""CRM outcomes to training labels: what counts as won or lost, and when.

Each CRM says "this lead converted" differently. The tables below translate them into
`OutcomeStatus`: HubSpot's lifecycle stage and deal stage, Salesforce's converted
leads and won/lost opportunities, and BOMA's dossier statuses from seed 000
("Instruction" = still being processed, "Accord" = loan granted, "Refusée" = refused).

`labels_from_outcomes` keeps, per lead, the latest decisive outcome; a converted lead's
label time is its *first* win (the cut for its features). `ColdStart` says whether
there are enough outcomes to train at all; below it the rules score stands alone,
as Einstein falls back to a global model.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.core.models import Outcome, OutcomeStatus

__all__ = [
    "OUTCOME_TABLES",
    "ColdStart",
    "Label",
    "OutcomeSystem",
    "labels_from_outcomes",
    "map_outcome",
    "to_outcome",
]

OutcomeSystem = Literal[
    "boma_dossier",
    "hubspot_lifecycle",
    "hubspot_deal",
    "hubspot_lead_status",
    "salesforce_lead",
    "salesforce_opportunity",
]

_WON, _LOST, _OPEN = OutcomeStatus.WON, OutcomeStatus.LOST, OutcomeStatus.OPEN

OUTCOME_TABLES: Mapping[OutcomeSystem, Mapping[str, OutcomeStatus]] = {
    # seed 000: the nightly feedback pulls BOMA dossier statuses
    "boma_dossier": {"instruction": _OPEN, "accord": _WON, "refusee": _LOST, "refuse": _LOST},
    # HubSpot lifecycle stage internal values
    "hubspot_lifecycle": {
        "subscriber": _OPEN,
        "lead": _OPEN,
        "marketingqualifiedlead": _OPEN,
        "salesqualifiedlead": _OPEN,
        "opportunity": _OPEN,
        "customer": _WON,
        "evangelist": _WON,
    },
    # HubSpot default sales pipeline deal stages
    "hubspot_deal": {"closedwon": _WON, "closedlost": _LOST},
    "hubspot_lead_status": {"unqualified": _LOST, "bad_timing": _LOST},
    # Salesforce: Lead.IsConverted / Lead.Status
    "salesforce_lead": {
        "true": _WON,
        "converted": _WON,
        "closed - converted": _WON,
        "closed - not converted": _LOST,
        "unqualified": _LOST,
        "false": _OPEN,
        "open - not contacted": _OPEN,
        "working - contacted": _OPEN,
    },
    # Salesforce: Opportunity.StageName (or IsWon/IsClosed rendered as won/lost/open)
    "salesforce_opportunity": {
        "closed won": _WON,
        "closed lost": _LOST,
        "won": _WON,
        "lost": _LOST,
    },
}


def _key(value: str | bool) -> str:
    text = str(value).strip().casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def map_outcome(system: OutcomeSystem, value: str | bool | None) -> OutcomeStatus | None:
    """The status a CRM value means, or None when the value says nothing (unknown)."""
    if value is None:
        return None
    return OUTCOME_TABLES[system].get(_key(value))


def to_outcome(
    system: OutcomeSystem,
    lead_key: str,
    value: str | bool | None,
    at: datetime,
    *,
    source: str | None = None,
) -> Outcome | None:
    """An `Outcome` for a CRM value, or None if the value is not an outcome."""
    status = map_outcome(system, value)
    if status is None:
        return None
    return Outcome(
        lead_key=lead_key,
        status=status,
        at=at,
        source=source or system.split("_", 1)[0],
        detail=str(value),
    )


@dataclass(frozen=True)
class Label:
    """A lead's training label and the moment it became known (the feature cut)."""

    lead_key: str
    won: bool
    at: datetime


def labels_from_outcomes(outcomes: Iterable[Outcome]) -> dict[str, Label]:
    """One label per lead with a decisive outcome (won or lost); open leads are unlabelled.

    The latest decisive outcome decides the label (a reopened-then-won lead is won); a
    won lead's time is its first win, a lost lead's its latest loss.
    """
    by_lead: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_lead.setdefault(outcome.lead_key, []).append(outcome)
    labels: dict[str, Label] = {}
    for key, items in by_lead.items():
        decisive = sorted(
            (o for o in items if o.status is not OutcomeStatus.OPEN), key=lambda o: o.at
        )
        if not decisive:
            continue
        final = decisive[-1]
        if final.status is OutcomeStatus.WON:
            first_win = next(o for o in decisive if o.status is OutcomeStatus.WON)
            labels[key] = Label(lead_key=key, won=True, at=first_win.at)
        else:
            labels[key] = Label(lead_key=key, won=False, at=final.at)
    return labels


class ColdStart(BaseModel):
    """Minimum outcomes before a model may score; below it the rules score stands alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_outcomes: int = Field(default=200, ge=2)
    min_per_class: int = Field(default=20, ge=1)

    def shortfall(self, labels: Mapping[str, Label]) -> str | None:
        """Why there is not enough history yet, or None when training may proceed."""
        won = sum(1 for label in labels.values() if label.won)
        lost = len(labels) - won
        if len(labels) < self.min_outcomes:
            return f"cold start: {len(labels)} decided outcomes, {self.min_outcomes} needed"
        if min(won, lost) < self.min_per_class:
            return (
                f"cold start: {won} won and {lost} lost, "
                f"at least {self.min_per_class} of each needed"
            )
        return None
