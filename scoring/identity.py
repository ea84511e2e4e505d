"""Cross-channel identity resolution: one person behind cookies, emails, phones and CRM ids.

Seed 003: a prospect browses anonymously, subscribes to the newsletter, attends a
webinar, then writes on LinkedIn; the scorer must see one person. Identifiers are
normalised (emails lower-cased, phones to E.164 with `phonenumbers`, CRM ids as
``system:id``) and merged with a union-find. Every merge keeps its evidence (lineage);
a merge that would give one person two ids in the same CRM (two HubSpot contacts
claiming one email) is refused and reported as a `Conflict`, never resolved silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import phonenumbers

from leadbridge.core.models import Activity, Lead

__all__ = [
    "Conflict",
    "Identifier",
    "IdentifierKind",
    "IdentityGraph",
    "Merge",
    "Person",
    "identifiers_of_activity",
    "identifiers_of_lead",
    "normalize_identifier",
]


class IdentifierKind(StrEnum):
    """What an identifier is; CRM ids are the ones that must stay unique per person."""

    EMAIL = "email"
    PHONE = "phone"
    COOKIE = "cookie"
    CLIENT_ID = "client_id"
    SOCIAL = "social"
    CRM = "crm"


@dataclass(frozen=True, order=True)
class Identifier:
    """A normalised identifier, e.g. ``email:ana@example.ch`` or ``crm:hubspot:42``."""

    kind: IdentifierKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"

    @property
    def system(self) -> str | None:
        """The CRM (or social network) part of a ``system:id`` value."""
        if self.kind in (IdentifierKind.CRM, IdentifierKind.SOCIAL):
            return self.value.split(":", 1)[0]
        return None


def normalize_identifier(
    kind: IdentifierKind | str, raw: str | None, *, default_region: str = "CH"
) -> Identifier | None:
    """The canonical form of a raw identifier, or None when it is unusable.

    Phones are parsed with `default_region` for national formats (``079 123 45 67``)
    and kept only when valid; CRM and social ids must look like ``system:id``.
    """
    if raw is None or not raw.strip():
        return None
    kind = IdentifierKind(kind)
    text = raw.strip()
    if kind is IdentifierKind.EMAIL:
        email = text.lower()
        local, _, domain = email.partition("@")
        if not local or "." not in domain or "@" in domain or " " in email:
            return None
        return Identifier(kind, email)
    if kind is IdentifierKind.PHONE:
        try:
            number = phonenumbers.parse(text, default_region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return Identifier(
            kind, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        )
    if kind in (IdentifierKind.CRM, IdentifierKind.SOCIAL):
        system, sep, ident = text.partition(":")
        if not sep or not system.strip() or not ident.strip():
            return None
        return Identifier(kind, f"{system.strip().lower()}:{ident.strip()}")
    return Identifier(kind, text)


def identifiers_of_lead(lead: Lead, *, default_region: str = "CH") -> list[Identifier]:
    """A lead's CRM ids, email and phone."""
    found = [
        normalize_identifier(IdentifierKind.CRM, f"{s}:{i}") for s, i in lead.source_ids.items()
    ]
    if ":" in lead.key:
        found.append(normalize_identifier(IdentifierKind.CRM, lead.key))
    found.append(normalize_identifier(IdentifierKind.EMAIL, lead.email))
    found.append(
        normalize_identifier(IdentifierKind.PHONE, lead.phone, default_region=default_region)
    )
    return [ident for ident in found if ident is not None]


_ACTIVITY_ATTRIBUTES: Mapping[str, IdentifierKind] = {
    "email": IdentifierKind.EMAIL,
    "phone": IdentifierKind.PHONE,
    "cookie_id": IdentifierKind.COOKIE,
    "client_id": IdentifierKind.CLIENT_ID,
    "social_id": IdentifierKind.SOCIAL,
    "crm_id": IdentifierKind.CRM,
}


def identifiers_of_activity(activity: Activity, *, default_region: str = "CH") -> list[Identifier]:
    """Identifiers an activity carries: its lead key and identifying attributes."""
    found: list[Identifier | None] = []
    if ":" in activity.lead_key:
        found.append(normalize_identifier(IdentifierKind.CRM, activity.lead_key))
    for name, kind in _ACTIVITY_ATTRIBUTES.items():
        value = activity.attributes.get(name)
        if isinstance(value, str):
            found.append(normalize_identifier(kind, value, default_region=default_region))
    return [ident for ident in found if ident is not None]


@dataclass(frozen=True)
class Merge:
    """One accepted link between two identifiers, with the record that justified it."""

    left: Identifier
    right: Identifier
    evidence: str


@dataclass(frozen=True)
class Conflict:
    """A refused link: it would have given one person two ids in the same system."""

    left: Identifier
    right: Identifier
    evidence: str
    system: str
    ids: tuple[str, str]

    def __str__(self) -> str:
        return (
            f"{self.left} and {self.right} ({self.evidence}) would merge {self.system} ids "
            f"{self.ids[0]} and {self.ids[1]}: not merged"
        )


@dataclass(frozen=True)
class Person:
    """One resolved person: every identifier, their CRM ids and the merge lineage."""

    id: str
    identifiers: tuple[Identifier, ...]
    crm_ids: Mapping[str, str]
    lineage: tuple[Merge, ...]


@dataclass
class IdentityGraph:
    """Union-find over normalised identifiers, refusing merges across CRM ids."""

    _parent: dict[Identifier, Identifier] = field(default_factory=dict)
    _size: dict[Identifier, int] = field(default_factory=dict)
    _crm: dict[Identifier, dict[str, str]] = field(default_factory=dict)
    lineage: list[Merge] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def _node(self, ident: Identifier) -> Identifier:
        if ident not in self._parent:
            self._parent[ident] = ident
            self._size[ident] = 1
            crm: dict[str, str] = {}
            if ident.kind is IdentifierKind.CRM and ident.system is not None:
                crm[ident.system] = ident.value
            self._crm[ident] = crm
        return ident

    def find(self, ident: Identifier) -> Identifier:
        """The representative of an identifier's group (path-halving)."""
        node = self._node(ident)
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def link(self, left: Identifier, right: Identifier, *, evidence: str) -> Conflict | None:
        """Merge two identifiers' groups unless that puts two ids of one CRM together."""
        root_l, root_r = self.find(left), self.find(right)
        if root_l == root_r:
            return None
        crm_l, crm_r = self._crm[root_l], self._crm[root_r]
        for system in sorted(crm_l.keys() & crm_r.keys()):
            if crm_l[system] != crm_r[system]:
                conflict = Conflict(left, right, evidence, system, (crm_l[system], crm_r[system]))
                self.conflicts.append(conflict)
                return conflict
        if self._size[root_l] < self._size[root_r]:
            root_l, root_r = root_r, root_l
        self._parent[root_r] = root_l
        self._size[root_l] += self._size.pop(root_r)
        self._crm[root_l].update(self._crm.pop(root_r))
        self.lineage.append(Merge(left, right, evidence))
        return None

    def observe(self, identifiers: Iterable[Identifier], *, evidence: str) -> list[Conflict]:
        """Record that these identifiers were seen together in one record."""
        idents = sorted(set(identifiers))
        for ident in idents:
            self._node(ident)
        conflicts: list[Conflict] = []
        for other in idents[1:]:
            found = self.link(idents[0], other, evidence=evidence)
            if found is not None:
                conflicts.append(found)
        return conflicts

    def add_leads(self, leads: Iterable[Lead], *, default_region: str = "CH") -> list[Conflict]:
        """Observe every lead's identifiers (evidence: the lead key)."""
        conflicts: list[Conflict] = []
        for lead in leads:
            idents = identifiers_of_lead(lead, default_region=default_region)
            conflicts += self.observe(idents, evidence=f"lead {lead.key}")
        return conflicts

    def _members(self) -> dict[Identifier, list[Identifier]]:
        groups: dict[Identifier, list[Identifier]] = {}
        for ident in self._parent:
            groups.setdefault(self.find(ident), []).append(ident)
        return groups

    def _person(self, root: Identifier, members: Sequence[Identifier]) -> Person:
        crm = dict(sorted(self._crm[root].items()))
        ordered = tuple(sorted(members))
        person_id = next(iter(crm.values())) if crm else str(ordered[0])
        member_set = set(members)
        lineage = tuple(m for m in self.lineage if m.left in member_set)
        return Person(id=person_id, identifiers=ordered, crm_ids=crm, lineage=lineage)

    def persons(self) -> list[Person]:
        """Every resolved person, sorted by id."""
        people = [self._person(root, members) for root, members in self._members().items()]
        return sorted(people, key=lambda p: p.id)

    def person_of(self, ident: Identifier) -> Person | None:
        """The person an identifier belongs to, or None if never observed."""
        if ident not in self._parent:
            return None
        root = self.find(ident)
        members = [i for i in self._parent if self.find(i) == root]
        return self._person(root, members)

    def group_activities(
        self,
        activities: Iterable[Activity],
        identifiers_of: Callable[[Activity], list[Identifier]] = identifiers_of_activity,
    ) -> dict[str, list[Activity]]:
        """Observe activities, then file each under its person id (lead_key rewritten)."""
        pending: list[tuple[Activity, list[Identifier]]] = []
        for activity in activities:
            idents = identifiers_of(activity)
            source = activity.source_id or activity.occurred_at.isoformat()
            self.observe(idents, evidence=f"{activity.source}:{activity.kind}:{source}")
            pending.append((activity, idents))
        people = {root: self._person(root, m).id for root, m in self._members().items()}
        grouped: dict[str, list[Activity]] = {}
        for activity, idents in pending:
            person = people[self.find(idents[0])] if idents else activity.lead_key
            moved = (
                activity
                if person == activity.lead_key
                else activity.model_copy(update={"lead_key": person})
            )
            grouped.setdefault(person, []).append(moved)
        return grouped
