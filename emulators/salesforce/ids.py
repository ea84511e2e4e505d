"""Salesforce record ids: a 3-character key prefix per object and an 18-character form.

The 15-character id is case-sensitive; the 3-character suffix of the 18-character form
encodes the case of the first 15 so case-insensitive tools can tell ids apart. The
emulator issues 18-character ids like the REST API does, with the object's real prefix
(``00Q`` Lead, ``003`` Contact...), so a client may dispatch on the prefix.
"""

from __future__ import annotations

import itertools
import string
import threading

__all__ = ["PREFIXES", "IdFactory", "is_valid_id", "to_18"]

PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
    "CampaignMember": "00v",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "User": "005",
    "CustomField": "00N",
    "Job": "750",
    "QueryLocator": "01g",
}

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"


def to_18(id15: str) -> str:
    """The 18-character form of a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for i, char in enumerate(id15[start : start + 5]):
            if char.isupper():
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return id15 + suffix


def is_valid_id(value: str) -> bool:
    """15 or 18 alphanumeric characters, the 18-character form with a matching checksum."""
    if len(value) not in (15, 18) or not value.isalnum() or not value.isascii():
        return False
    return len(value) == 15 or to_18(value[:15]) == value


class IdFactory:
    """Issues unique ids per prefix: prefix + instance ``8d`` + ``0`` + base-62 serial."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, sobject: str) -> str:
        """A fresh 18-character id for `sobject`."""
        with self._lock:
            serial = next(self._counter)
        digits = ""
        for _ in range(9):
            serial, rem = divmod(serial, 62)
            digits = _BASE62[rem] + digits
        return to_18(f"{PREFIXES[sobject]}8d0{digits}")
