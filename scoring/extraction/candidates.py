"""Candidates: what the rules found in a message, before the model decides their role.

Rules are good at *finding and normalising* ("1,2 Mio." is 1 200 000, "DPE C" is an
energy class, "d'ici juin" is a month); they are bad at *deciding what a thing is for*
(is 250 000 the loan, the price or the salary?). So every rule emits a `Candidate` with
its normalised value, its character span and a rule certainty, and the statistical
model (see `model.py`) labels each one from its context.

    >>> c = Candidate(kind="amount", start=10, end=17, text="250'000", value=250000.0)
    >>> c.field is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["AMOUNT_ROLES", "MENTION_ROLES", "Candidate", "CandidateKind"]

CandidateKind = Literal["amount", "percent", "mention", "month"]

AMOUNT_ROLES: tuple[str, ...] = (
    "other",
    "requested_amount",
    "property_value",
    "down_payment",
    "salary",
    "monthly_payment",
)
"""Classes of the amount head; salary and monthly payment are learned so they are *not*
mistaken for the loan (seed 001: a generic model confuses "apport" and "mensualité")."""

MENTION_ROLES: tuple[str, ...] = ("other", "keep")
"""Classes of the mention head: does this keyword/month speak about the lead's project?"""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One rule hit: a normalised value with its span and how sure the rule is of it.

    For ``amount``/``percent`` candidates `value` is the number (a percent is 20.0 for
    "20 %"); for ``mention`` candidates `field`/`label` carry the proposed field value
    (``job_status``/``"permanent"``) and for ``month`` ones `label` is ``"YYYY-MM"``.
    """

    kind: CandidateKind
    start: int
    end: int
    text: str
    value: float = 0.0
    currency: str | None = None
    field: str | None = None
    label: str | None = None
    certainty: float = 1.0
    shape: str = ""
