"""CSV exports open safely in a spreadsheet and round-trip exactly (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.privacy.csvsafe import TRIGGERS, neutralise, read_csv, restore, write_csv

ATTACKS = ["=HYPERLINK(\"http://evil.test\",\"x\")", "+1", "-2", "@SUM(A1:A2)", "\t=1+1",
           "\r=1+1", "\0=1", "=cmd|' /C calc'!A0", "'=already quoted", "plain", ""]  # fmt: skip


def test_every_trigger_cell_is_prefixed_and_nothing_else_is():
    text = write_csv(["value"], [[a] for a in ATTACKS])
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    for (written,), original in zip(rows, ATTACKS, strict=True):
        if original[:1] in TRIGGERS or original.startswith("'"):
            assert written == "'" + original
        else:
            assert written == original
        assert written[:1] not in TRIGGERS  # no cell can start a formula
    assert text.endswith("\r\n")  # RFC 4180 line ends


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.text(), min_size=1, max_size=5), min_size=1, max_size=10))
def test_csv_round_trips_losslessly_after_removing_the_prefix(rows):
    width = max(len(r) for r in rows)
    table = [r + [""] * (width - len(r)) for r in rows]
    text = write_csv([f"c{i}" for i in range(width)], table)
    assert read_csv(text)[1:] == table
    for row in list(csv.reader(io.StringIO(text, newline="")))[1:]:
        assert all(cell[:1] not in TRIGGERS for cell in row)


@given(st.text())
def test_restore_inverts_neutralise(value):
    assert restore(neutralise(value)) == value
