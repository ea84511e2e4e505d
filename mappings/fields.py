"""Field mappings between two CRMs: which field holds what, how it converts, who wins.

A mapping is a TOML file (bundled ones live next to this module, e.g.
``hubspot-salesforce.toml``) naming side ``a`` and side ``b`` and a list of ``[[field]]``
rules. Each rule pairs a field path on each side with a transform (`transforms.make_codec`)
and says how the pair syncs: its conflict ``policy``, which side it preferred side, its
``direction``, and the ``default_a``/``default_b`` used when a record is created with the
value blank. Load it with `load_mapping`, then check it against both CRMs' live field
catalogues with `check_mapping` *before* any record moves: unknown fields, fields that
existed at the last run and are gone now, and read-only targets are all reported at once
(a `ConfigError` naming the file), never discovered halfway through a sync.

    >>> mapping = load_mapping("hubspot-salesforce")
    >>> mapping.a.crm, mapping.b.crm, mapping.rule("email").b
    ('hubspot', 'salesforce', 'Email')
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadbridge.core.errors import ConfigError, MappingError
from leadbridge.core.models import FieldSpec
from leadbridge.mappings.transforms import FORMATS, Canonical, Codec, make_codec

__all__ = [
    "SIDES",
    "ActivityRule",
    "CatalogField",
    "CompiledRule",
    "FieldProblem",
    "FieldRule",
    "MappingReport",
    "PairMapping",
    "Policy",
    "Side",
    "check_mapping",
    "load_mapping",
    "read_path",
]

Side = Literal["a", "b"]
SIDES: tuple[Side, Side] = ("a", "b")
Policy = Literal["source_of_truth", "prefer_unless_blank", "newest", "never_overwrite", "dont_sync"]
Direction = Literal["both", "a_to_b", "b_to_a", "none"]
_CREATE_TYPES = ("number", "string", "datetime", "enumeration", "text")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SideConfig(_Strict):
    """One CRM of the pair: its connector name, object, and external-id field."""

    crm: str = Field(min_length=1)
    object: str = Field(min_length=1)
    external_id: str = Field(
        min_length=1, description="A unique field holding leadbridge's key (idempotent creates)."
    )


class Defaults(_Strict):
    """What a rule gets when it does not say."""

    policy: Policy = "newest"
    prefer: Side = "a"
    direction: Direction = "both"
    tie: Side = Field("a", description="Who wins 'newest' when both changed at the same instant.")


class RecordRules(_Strict):
    """Whole-record behaviour: deletes and merges, and how unlinked records are matched."""

    deletes: Literal["propagate", "ignore"] = "propagate"
    merges: Literal["propagate", "ignore"] = "propagate"
    match: str | None = Field(None, description="Rule name used to pair unlinked records.")


class FieldRule(_Strict):
    """One pair of fields and how they sync."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    a: str = Field(min_length=1)
    b: str = Field(min_length=1)
    transform: str = "text"
    a_format: str | None = None
    b_format: str | None = None
    region: str = Field("CH", description="Default region for phone numbers without a prefix.")
    values: dict[str, str] = Field(default_factory=dict, description="enum: a value -> b value")
    unknown: Literal["error", "keep"] = "error"
    scale: int | None = Field(None, ge=0, le=10)
    policy: Policy | None = None
    prefer: Side | None = None
    direction: Direction | None = None
    default_a: str | int | float | bool | None = None
    default_b: str | int | float | bool | None = None
    create: bool = Field(False, description="Create the field on a side that lacks it.")
    type: Literal["number", "string", "datetime", "enumeration", "text"] = "string"
    label: str | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldRule:
        formats = FORMATS.get(self.transform)
        if formats is None and self.transform != "owner":
            raise ValueError(f"unknown transform {self.transform!r}")
        for fmt in (self.a_format, self.b_format):
            if fmt is not None and formats is not None and fmt not in formats:
                raise ValueError(f"transform {self.transform!r} has no format {fmt!r}")
        if self.transform == "enum":
            if not self.values:
                raise ValueError("an enum transform needs a 'values' table")
            targets = [v.lower() for v in self.values.values()]
            if len(set(targets)) != len(targets):
                raise ValueError("enum 'values' must map one to one (a b value appears twice)")
        return self


class ActivityRule(_Strict):
    """How one kind of source activity becomes a target record (migration only)."""

    kind: str = Field(min_length=1, description="Source activity kind (``emails``...).")
    object: str = Field(min_length=1, description="Target object (``Task``, ``Event``).")
    external_id: str = Field(min_length=1)
    link: str = Field(min_length=1, description="Target field pointing at the migrated record.")
    fields: dict[str, str] = Field(default_factory=dict, description="target -> source field")
    transforms: dict[str, str] = Field(default_factory=dict, description="target -> transform")
    lengths: dict[str, int] = Field(default_factory=dict, description="target -> max length")
    constants: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ActivityRule:
        for target, transform in self.transforms.items():
            if transform not in FORMATS and transform != "owner":
                raise ValueError(f"activity {self.kind}: unknown transform {transform!r}")
            if target not in self.fields:
                raise ValueError(f"activity {self.kind}: transform for unmapped field {target!r}")
        return self


class PairMapping(_Strict):
    """A whole mapping file."""

    name: str = Field(min_length=1)
    description: str = ""
    a: SideConfig
    b: SideConfig
    defaults: Defaults = Field(default_factory=Defaults)
    records: RecordRules = Field(default_factory=RecordRules)
    field: tuple[FieldRule, ...] = Field(min_length=1)
    activity: tuple[ActivityRule, ...] = ()
    file: str | None = None

    @model_validator(mode="after")
    def _unique(self) -> PairMapping:
        names = [r.name for r in self.field]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"field rule names must be unique; repeated: {', '.join(dupes)}")
        for side in SIDES:
            paths = [getattr(r, side) for r in self.field]
            twice = sorted({p for p in paths if paths.count(p) > 1})
            if twice:
                raise ValueError(f"side {side} maps a field twice: {', '.join(twice)}")
        if self.records.match is not None and self.records.match not in names:
            raise ValueError(f"records.match names no field rule: {self.records.match!r}")
        return self

    def rule(self, name: str) -> FieldRule:
        """The rule called `name` (KeyError if none)."""
        for rule in self.field:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def side(self, side: Side) -> SideConfig:
        """Side `side`'s configuration."""
        return self.a if side == "a" else self.b

    def fields_of(self, side: Side) -> list[str]:
        """The vendor fields a read of `side` must request (rules plus the external id)."""
        paths = [getattr(r, side) for r in self.field]
        return [*dict.fromkeys([*paths, self.side(side).external_id])]

    def flipped(self) -> PairMapping:
        """The same mapping seen from the other side (b becomes a)."""
        swap: dict[str, Side] = {"a": "b", "b": "a"}
        rules = []
        for rule in self.field:
            data = rule.model_dump()
            data["a"], data["b"] = rule.b, rule.a
            data["a_format"], data["b_format"] = rule.b_format, rule.a_format
            data["default_a"], data["default_b"] = rule.default_b, rule.default_a
            data["prefer"] = swap[rule.prefer] if rule.prefer else None
            if rule.direction in ("a_to_b", "b_to_a"):
                data["direction"] = "b_to_a" if rule.direction == "a_to_b" else "a_to_b"
            if rule.values:
                data["values"] = {b: a for a, b in rule.values.items()}
            rules.append(FieldRule.model_validate(data))
        defaults = self.defaults.model_copy(
            update={"prefer": swap[self.defaults.prefer], "tie": swap[self.defaults.tie]}
        )
        if self.defaults.direction in ("a_to_b", "b_to_a"):
            flipped_dir = "b_to_a" if self.defaults.direction == "a_to_b" else "a_to_b"
            defaults = defaults.model_copy(update={"direction": flipped_dir})
        return self.model_copy(
            update={
                "a": self.b,
                "b": self.a,
                "field": tuple(rules),
                "defaults": defaults,
                "activity": (),
            }
        )

    def compile(self, owners: Mapping[str, str] | None = None) -> list[CompiledRule]:
        """Rules with their codecs built; `owners` maps side-a owner ids to side-b ids."""
        return [CompiledRule.build(rule, self.defaults, owners or {}) for rule in self.field]


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to convert values: both codecs and the effective policy."""

    rule: FieldRule
    codec_a: Codec
    codec_b: Codec
    policy: Policy
    prefer: Side
    direction: Direction
    tie: Side

    @classmethod
    def build(cls, rule: FieldRule, defaults: Defaults, owners: Mapping[str, str]) -> CompiledRule:
        transform, values = rule.transform, dict(rule.values)
        if transform == "owner":
            transform, values = "enum", dict(owners) or {"": ""}
        kwargs: dict[str, Any] = {"region": rule.region, "values": values, "scale": rule.scale}
        try:
            codec_a = make_codec(transform, rule.a_format, side="a", **kwargs)
            codec_b = make_codec(transform, rule.b_format, side="b", **kwargs)
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"field.{rule.name}") from None
        if rule.unknown == "keep" or rule.transform == "owner":
            codec_a, codec_b = _lenient(codec_a, rule), _lenient(codec_b, rule)
        return cls(
            rule=rule,
            codec_a=codec_a,
            codec_b=codec_b,
            policy=rule.policy or defaults.policy,
            prefer=rule.prefer or defaults.prefer,
            direction=rule.direction or defaults.direction,
            tie=defaults.tie,
        )

    @property
    def name(self) -> str:
        return self.rule.name

    def codec(self, side: Side) -> Codec:
        return self.codec_a if side == "a" else self.codec_b

    def path(self, side: Side) -> str:
        return self.rule.a if side == "a" else self.rule.b

    def default(self, side: Side) -> Canonical:
        raw = self.rule.default_a if side == "a" else self.rule.default_b
        return self.codec(side).parse(raw) if raw is not None else None

    def read(self, side: Side, fields: Mapping[str, Any]) -> Canonical:
        """The canonical value of this rule's field in a raw record (MappingError if bad)."""
        return self.codec(side).parse(read_path(fields, self.path(side)))

    def writes_to(self, side: Side) -> bool:
        """Whether this rule may ever write to `side`."""
        if self.policy == "dont_sync" or self.direction == "none":
            return False
        return self.direction == "both" or self.direction == ("a_to_b" if side == "b" else "b_to_a")

    def same(self, a: Canonical, b: Canonical) -> bool:
        """Whether side a holding `a` and side b holding `b` agree (through either side's eyes)."""
        if a == b:
            return True
        try:
            return self.codec_b.roundtrip(a) == b or self.codec_a.roundtrip(b) == a
        except (MappingError, ValueError, KeyError):
            return False


def _lenient(codec: Codec, rule: FieldRule) -> Codec:
    """Values the transform does not know pass through as text instead of failing."""
    strict = codec

    def parse(raw: Any) -> Canonical:
        try:
            return strict.parse(raw)
        except MappingError:
            return " ".join(str(raw).split()) if rule.transform != "owner" else None

    def render(value: Canonical) -> Any:
        try:
            return strict.render(value)
        except (ValueError, KeyError):
            return None if rule.transform == "owner" else value

    return Codec(codec.transform, codec.format, parse, render)


def read_path(fields: Mapping[str, Any], path: str) -> Any:
    """A value at a dotted path (``Account.Name`` reads a Salesforce relationship)."""
    if path in fields:
        return fields[path]
    current: Any = fields
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


# -- loading ----------------------------------------------------------------------------


def load_mapping(source: str | Path) -> PairMapping:
    """A bundled mapping by name (``hubspot-salesforce``) or a TOML file by path.

    Asking for a bundled pair the other way round (``salesforce-hubspot``) loads the
    bundled file and flips it.
    """
    text, file = _read(source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from None
    try:
        mapping = PairMapping.model_validate({**raw, "file": file})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or None
        reason = "unknown key (check the spelling)" if first["type"] == "extra_forbidden" else None
        raise ConfigError(reason or first["msg"], file=file, key=key) from None
    if isinstance(source, str) and _flip_wanted(source):
        return mapping.flipped()
    return mapping


def _bundled(name: str) -> str | None:
    resource = resources.files("leadbridge.mappings").joinpath(f"{name}.toml")
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def _flip_wanted(name: str) -> bool:
    if name.endswith(".toml") or "/" in name or _bundled(name) is not None:
        return False
    left, _, right = name.partition("-")
    return bool(right) and _bundled(f"{right}-{left}") is not None


def _read(source: str | Path) -> tuple[str, str]:
    if isinstance(source, str) and not source.endswith(".toml") and "/" not in source:
        text = _bundled(source)
        if text is None and _flip_wanted(source):
            left, _, right = source.partition("-")
            text = _bundled(f"{right}-{left}")
        if text is None:
            raise ConfigError(f"no bundled mapping called {source!r}", key="mapping")
        return text, f"{source}.toml"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None


# -- checking against the CRMs ------------------------------------------------------------


class CatalogField(Protocol):
    """What a CRM says about one of its fields (a record store's ``describe()``)."""

    @property
    def name(self) -> str: ...
    @property
    def writable(self) -> bool: ...


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a mapping against the live CRMs."""

    side: Side
    field: str
    rule: str
    kind: Literal["unknown", "removed", "read_only"]

    def describe(self, mapping: PairMapping) -> str:
        crm = mapping.side(self.side).crm
        what = {
            "unknown": "does not exist",
            "removed": "was removed since the last run",
            "read_only": "is read-only but the rule writes to it",
        }[self.kind]
        return f"{crm} field {self.field!r} (rule {self.rule}) {what}"


@dataclass
class MappingReport:
    """The outcome of `check_mapping`: problems, and fields to create before moving data."""

    mapping: PairMapping
    problems: list[FieldProblem] = field(default_factory=list)
    to_create: list[tuple[Side, FieldSpec]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """One `ConfigError` listing every problem (the first few spelled out)."""
        if not self.problems:
            return
        shown = "; ".join(p.describe(self.mapping) for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        raise ConfigError(f"{shown}{more}", file=self.mapping.file, key="field")


def check_mapping(
    mapping: PairMapping,
    catalog_a: Mapping[str, CatalogField],
    catalog_b: Mapping[str, CatalogField],
    *,
    previous_a: Iterable[str] = (),
    previous_b: Iterable[str] = (),
    create: Sequence[Side] = (),
) -> MappingReport:
    """Every mapped field checked against each side's live catalogue.

    `previous_*` are the field names seen at the last run (kept by the caller), so a
    field deleted from the CRM since is reported as *removed* rather than *unknown*.
    Fields a rule marks ``create = true`` on a side listed in `create` are scheduled
    for creation instead of reported; so is the external-id field.
    """
    report = MappingReport(mapping)
    before: dict[Side, set[str]] = {"a": set(previous_a), "b": set(previous_b)}
    catalogs: dict[Side, Mapping[str, CatalogField]] = {"a": catalog_a, "b": catalog_b}
    compiled = {c.name: c for c in mapping.compile()}
    for side in SIDES:
        catalog = catalogs[side]
        lowered = {name.lower(): spec for name, spec in catalog.items()}
        external = mapping.side(side).external_id
        if external.lower() not in lowered and side in create:
            spec = FieldSpec(
                name=external,
                label="leadbridge id",
                type="string",
                description="leadbridge's stable key of this record (external id).",
            )
            report.to_create.append((side, spec))
        for rule in mapping.field:
            path = getattr(rule, side)
            head = path.split(".")[0]
            found = lowered.get(path.lower()) or lowered.get(head.lower())
            if found is None and "." in path and (head + "Id").lower() in lowered:
                continue  # a relationship path (Account.Name): read through its lookup field
            if found is None:
                if rule.create and side in create:
                    label = rule.label or rule.name.replace("_", " ")
                    spec = FieldSpec(name=path, label=label, type=rule.type)
                    report.to_create.append((side, spec))
                    continue
                kind: Literal["unknown", "removed"] = (
                    "removed" if path in before[side] else "unknown"
                )
                report.problems.append(FieldProblem(side, path, rule.name, kind))
                continue
            if compiled[rule.name].writes_to(side) and (not found.writable or "." in path):
                report.problems.append(FieldProblem(side, path, rule.name, "read_only"))
    return report
