"""The per-field decision: every policy, echo suppression, direction vetoes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadbridge.mappings.fields import CompiledRule, Defaults, FieldRule
from leadbridge.sync.pairstate import FieldState, value_hash
from leadbridge.sync.policies import decide

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=1)


def rule(policy: str, prefer: str = "a", direction: str = "both", tie: str = "a") -> CompiledRule:
    spec = FieldRule.model_validate({"name": "f", "a": "f", "b": "F", "policy": policy,
                                     "prefer": prefer, "direction": direction})  # fmt: skip
    return CompiledRule.build(spec, Defaults.model_validate({"tie": tie}), {})


def seen(a: object, b: object, **extra: object) -> FieldState:
    return FieldState(a_hash=value_hash(a), b_hash=value_hash(b), **extra)  # type: ignore[arg-type]


def test_equal_values_need_nothing() -> None:
    d = decide(rule("newest"), "x", "x", None, T0, T0)
    assert (d.write_a, d.write_b, d.conflict) == (False, False, False)


def test_newest_one_side_changed_wins_without_conflict() -> None:
    d = decide(rule("newest"), "new", "old", seen("old", "old"), T0, LATER)
    assert (d.winner, d.value, d.write_b, d.write_a, d.conflict) == ("a", "new", True, False, False)


@pytest.mark.parametrize(("a_at", "b_at", "winner"), [(LATER, T0, "a"), (T0, LATER, "b")])
def test_newest_both_changed_is_a_conflict_the_later_change_wins(
    a_at: datetime, b_at: datetime, winner: str
) -> None:
    d = decide(rule("newest"), "from-a", "from-b", seen("old", "old"), a_at, b_at)
    assert d.conflict
    assert d.winner == winner
    assert d.value == ("from-a" if winner == "a" else "from-b")


def test_newest_tie_goes_to_the_mappings_tie_side() -> None:
    assert decide(rule("newest", tie="b"), "x", "y", seen("o", "o"), T0, T0).winner == "b"


def test_echo_of_our_own_write_is_not_a_change() -> None:
    # We wrote "v" to b; b reads back "v", a changed meanwhile to "w": a wins, no conflict.
    state = FieldState(a_hash=value_hash("v"), b_hash=value_hash("old"), b_written=value_hash("v"))
    d = decide(rule("newest"), "w", "v", state, T0, LATER)
    assert (d.changed_b, d.conflict, d.winner) == (False, False, "a")


def test_source_of_truth_overwrites_even_with_blank() -> None:
    d = decide(rule("source_of_truth", prefer="b"), "kept?", None, seen("kept?", None), LATER, T0)
    assert (d.winner, d.value, d.write_a) == ("b", None, True)


def test_prefer_unless_blank() -> None:
    r = rule("prefer_unless_blank", prefer="a")
    assert decide(r, "A", "B", seen("A", "x"), T0, LATER).winner == "a"
    blank = decide(r, None, "B", seen(None, "x"), T0, LATER)
    assert (blank.winner, blank.write_a, blank.value) == ("b", True, "B")


def test_never_overwrite_fills_blanks_and_logs_real_clashes() -> None:
    r = rule("never_overwrite")
    fill = decide(r, None, "B", seen(None, None), T0, LATER)
    assert (fill.write_a, fill.value) == (True, "B")
    clash = decide(r, "A", "B", seen("A", "old"), T0, LATER)
    assert clash.conflict
    assert not clash.write_a
    assert not clash.write_b
    again = decide(r, "A", "B", seen("A", "B"), T0, LATER)
    assert not again.conflict  # already logged: the next cycle stays quiet


def test_dont_sync_and_direction_vetoes() -> None:
    assert not decide(rule("dont_sync"), "a", "b", None, T0, LATER).write_a
    one_way = rule("newest", direction="a_to_b")
    d = decide(one_way, "a", "new-b", seen("a", "b"), T0, LATER)
    assert d.winner == "b"
    assert not d.write_a
    assert not d.write_b
    assert decide(one_way, "new-a", "b", seen("a", "b"), LATER, T0).write_b
