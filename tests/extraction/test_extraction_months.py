from datetime import UTC, datetime

import pytest

from leadbridge.scoring.extraction.months import find_months, shift_month

SENT = datetime(2026, 3, 10, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("signature d'ici juin", "2026-06"),
        ("entro marzo", "2026-03"),
        ("bis spätestens Mai", "2026-05"),
        ("within 6 months", "2026-09"),
        ("dans six mois", "2026-09"),
        ("in drei Monaten", "2026-06"),
        ("entro fine anno", "2026-12"),
        ("by the end of the year", "2026-12"),
        ("avant février", "2027-02"),
        ("by May 2027", "2027-05"),
        ("tra 2 anni", "2028-03"),
    ],
)
def test_month_expressions_resolve_against_the_message_date(text, label):
    assert [c.label for c in find_months(text, SENT)] == [label]


def test_english_may_needs_a_cue():
    assert find_months("I may need a loan", SENT) == []
    assert [c.label for c in find_months("by May", SENT)] == ["2026-05"]


def test_shift_month_crosses_years():
    assert shift_month(2026, 11, 3) == (2027, 2)
    assert shift_month(2026, 1, -1) == (2025, 12)
