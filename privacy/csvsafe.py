"""CSV that opens safely in a spreadsheet and still round-trips exactly.

A cell starting with ``= + - @`` (or a tab, carriage return or NUL, which some
spreadsheets skip before parsing) can run as a formula when the file is opened: OWASP's
CSV-injection guidance (ASVS V1.2.10) is to prefix such cells with a single quote, which
spreadsheets treat as "text" and do not display. Quoting alone does not help, so the
prefix comes first and RFC 4180 quoting after (``csv`` with CRLF line ends).

The prefix must not lose information: a cell that already starts with ``'`` is prefixed
too, so `restore` strips exactly one leading quote from every cell that has one and gets
the original back, whatever it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["TRIGGERS", "neutralise", "read_csv", "restore", "write_csv"]

TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\0")
_ESCAPE = "'"


def neutralise(value: str) -> str:
    """The cell as written: prefixed with ``'`` when it could start a formula (or a quote)."""
    if value[:1] in TRIGGERS or value.startswith(_ESCAPE):
        return _ESCAPE + value
    return value


def restore(value: str) -> str:
    """The original cell from a neutralised one."""
    return value[1:] if value.startswith(_ESCAPE) else value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV (CRLF, minimal quoting) with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def read_csv(text: str) -> list[list[str]]:
    """Parse a file written by `write_csv` back to the original cells."""
    return [[restore(cell) for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
