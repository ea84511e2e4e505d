"""Per-field conflict policies: given both sides' values and history, who wins.

The decision is a pure function of the rule, the two canonical values, the field state
remembered from the last cycle (`pairstate.FieldState`) and when each side's value was
first seen to change, so it can be tested exhaustively and replayed.

*Changed* means "differs from what leadbridge last saw on that side"; a value equal to
what leadbridge itself last wrote there is never a change (echo suppression), so our own
writes cannot bounce back. With no history (a newly linked pair) both sides count as
changed.

Policies (``prefer`` names a side):

- ``source_of_truth``: the preferred side's value, blank included, always wins;
- ``prefer_unless_blank``: the preferred side wins unless its value is blank;
- ``newest``: the side that changed wins; if both changed since the last cycle (a
  conflict), the side whose change was first seen with the later modification time wins
  (ties go to the mapping's ``tie`` side). Field-level times are the record's
  modification time at the first pull that saw the new value: exact when only that
  field changed between two cycles, an upper bound otherwise (neither HubSpot's search
  nor Salesforce without field history tracking offers more per record read);
- ``never_overwrite``: only fills a blank side; two different non-blank values are
  logged as a conflict and left alone;
- ``dont_sync``: nothing moves.

A rule's ``direction`` then vetoes writes to a side it does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadbridge.mappings.fields import CompiledRule, Side
from leadbridge.mappings.transforms import Canonical
from leadbridge.sync.pairstate import FieldState, value_hash

__all__ = ["Decision", "decide"]


@dataclass(frozen=True)
class Decision:
    """What to do with one field of one pair."""

    winner: Side | None = None
    value: Canonical = None
    write_a: bool = False
    write_b: bool = False
    conflict: bool = False
    changed_a: bool = False
    changed_b: bool = False


def _changed(current: Canonical, seen: str | None, written: str | None, fresh: bool) -> bool:
    if fresh:
        return True
    digest = value_hash(current)
    return digest != seen and digest != written


def decide(
    rule: CompiledRule,
    a: Canonical,
    b: Canonical,
    state: FieldState | None,
    a_at: datetime,
    b_at: datetime,
) -> Decision:
    """The decision for one field; `a_at`/`b_at` date each side's current value."""
    fresh = state is None
    prior = state or FieldState()
    changed_a = _changed(a, prior.a_hash, prior.a_written, fresh)
    changed_b = _changed(b, prior.b_hash, prior.b_written, fresh)
    if rule.policy == "dont_sync" or rule.same(a, b):
        return Decision(changed_a=changed_a, changed_b=changed_b)
    winner: Side | None
    conflict = False
    other: dict[Side, Side] = {"a": "b", "b": "a"}
    if rule.policy == "source_of_truth":
        winner = rule.prefer
    elif rule.policy == "prefer_unless_blank":
        preferred = a if rule.prefer == "a" else b
        winner = rule.prefer if preferred is not None else other[rule.prefer]
    elif rule.policy == "never_overwrite":
        if a is None or b is None:
            winner = "a" if b is None else "b"
        else:
            winner, conflict = None, changed_a or changed_b
    elif changed_a and changed_b:
        conflict = True
        winner = "a" if a_at > b_at else "b" if b_at > a_at else rule.tie
    elif changed_a:
        winner = "a"
    elif changed_b:
        winner = "b"
    else:
        winner = None  # a difference already judged (a vetoed direction): leave it
    if winner is None:
        return Decision(conflict=conflict, changed_a=changed_a, changed_b=changed_b)
    value = a if winner == "a" else b
    loser = other[winner]
    allowed = rule.writes_to(loser)
    return Decision(
        winner=winner,
        value=value,
        write_a=allowed and loser == "a",
        write_b=allowed and loser == "b",
        conflict=conflict,
        changed_a=changed_a,
        changed_b=changed_b,
    )
