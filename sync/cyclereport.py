"""What one two-way sync cycle read, wrote and found (the CLI prints it, benches sum it)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CycleReport"]


@dataclass
class CycleReport:
    """What one cycle read, wrote and found."""

    pulled: dict[str, int] = field(default_factory=lambda: {"a": 0, "b": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"a": 0, "b": 0})
    created: dict[str, int] = field(default_factory=lambda: {"a": 0, "b": 0})
    deleted: dict[str, int] = field(default_factory=lambda: {"a": 0, "b": 0})
    merged: dict[str, int] = field(default_factory=lambda: {"a": 0, "b": 0})
    linked: int = 0
    conflicts: int = 0
    overrides: int = 0
    invalid: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        """Records changed on either CRM (updates, creates, deletes, merges)."""
        return sum(sum(d.values()) for d in (self.updated, self.created, self.deleted, self.merged))
