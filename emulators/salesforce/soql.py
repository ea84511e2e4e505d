"""A SOQL subset: enough for what integrations send, with Salesforce's error codes.

Supported: ``SELECT f1, Parent.f2 FROM Obj [WHERE …] [ORDER BY f [ASC|DESC] [NULLS
FIRST|LAST], …] [LIMIT n] [OFFSET n]``; conditions with ``= != <> < <= > >= LIKE IN
NOT IN``, ``AND``/``OR``/``NOT`` and parentheses; literals ``'text'``, numbers,
``true``/``false``/``null``, unquoted ISO datetimes and dates. String comparison is
case-insensitive as on the platform; a quoted value against a datetime field is refused
the way Salesforce refuses it. Syntax errors answer ``MALFORMED_QUERY``, unknown columns
``INVALID_FIELD`` and unknown objects ``INVALID_TYPE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from leadbridge.emulators.salesforce.errors import (
    SalesforceHTTPError,
    invalid_field,
    malformed_query,
)
from leadbridge.emulators.salesforce.schema import (
    NUMBER_TYPES,
    FieldDef,
    SObjectType,
    format_datetime,
    parse_date,
    parse_datetime,
)

__all__ = ["Query", "TableSource", "parse", "run"]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "true",
        "false",
        "null",
    }
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, datetime, date, number, boolean, null
    value: Any


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or, not
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Order:
    path: str
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SELECT."""

    fields: tuple[str, ...]
    sobject: str
    where: Any
    order: tuple[Order, ...]
    limit: int | None
    offset: int


class TableSource(Protocol):
    """Where a query reads: the API's sObjects, or the Tooling API's metadata objects."""

    def sobject(self, name: str) -> SObjectType | None: ...

    def visible_field(self, sobject: str, name: str) -> FieldDef | None: ...

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[dict[str, Any]]: ...

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None: ...

    @staticmethod
    def type_of_id(record_id: str) -> str | None: ...


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None or match.end() == pos:
            raise malformed_query(f"unexpected token: '{stripped[pos:].strip()[:20]}'")
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind)
        if kind == "ident" and value.lower() in _KEYWORDS:
            kind = "kw"
        tokens.append(Token(kind, value, start))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed_query("unexpected end of query")
        self.i += 1
        return token

    def kw(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "kw" and token.text.lower() in words:
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.kw(word):
            token = self.peek()
            found = token.text if token else "end of query"
            raise malformed_query(f"expecting '{word.upper()}', found '{found}'")

    def ident(self) -> str:
        token = self.next()
        if token.kind != "ident":
            raise malformed_query(f"unexpected token: '{token.text}'")
        return token.text

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.i += 1
            return True
        return False

    def query(self) -> Query:
        self.expect_kw("select")
        fields = [self.ident()]
        while self.punct(","):
            fields.append(self.ident())
        self.expect_kw("from")
        sobject = self.ident()
        where = self.expr() if self.kw("where") else None
        order: list[Order] = []
        if self.kw("order"):
            self.expect_kw("by")
            while True:
                path = self.ident()
                descending = self.kw("desc")
                if not descending:
                    self.kw("asc")
                nulls_last = descending
                if self.kw("nulls"):
                    if self.kw("last"):
                        nulls_last = True
                    else:
                        self.expect_kw("first")
                        nulls_last = False
                order.append(Order(path, descending, nulls_last))
                if not self.punct(","):
                    break
        limit = self._int() if self.kw("limit") else None
        offset = self._int() if self.kw("offset") else 0
        token = self.peek()
        if token is not None:
            raise malformed_query(f"unexpected token: '{token.text}'")
        return Query(tuple(fields), sobject, where, tuple(order), limit, offset)

    def _int(self) -> int:
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise malformed_query(f"expecting a non-negative integer, found '{token.text}'")
        return int(token.text)

    def expr(self) -> Any:
        parts = [self.term()]
        while self.kw("or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def term(self) -> Any:
        parts = [self.factor()]
        while self.kw("and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def factor(self) -> Any:
        if self.kw("not"):
            return BoolOp("not", (self.factor(),))
        if self.punct("("):
            inner = self.expr()
            if not self.punct(")"):
                raise malformed_query("expecting ')'")
            return inner
        path = self.ident()
        if self.kw("not"):
            self.expect_kw("in")
            return Comparison(path, "not in", self._list())
        if self.kw("in"):
            return Comparison(path, "in", self._list())
        if self.kw("like"):
            value = self.literal()
            if value.kind != "string":
                raise malformed_query("LIKE needs a quoted string")
            return Comparison(path, "like", (value,))
        token = self.next()
        if token.kind != "op":
            raise malformed_query(f"unexpected token: '{token.text}'")
        op = "!=" if token.text == "<>" else token.text
        return Comparison(path, op, (self.literal(),))

    def _list(self) -> tuple[Literal, ...]:
        if not self.punct("("):
            raise malformed_query("expecting '('")
        values = [self.literal()]
        while self.punct(","):
            values.append(self.literal())
        if not self.punct(")"):
            raise malformed_query("expecting ')'")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.next()
        if token.kind == "string":
            inner = token.text[1:-1]
            return Literal("string", re.sub(r"\\(.)", r"\1", inner))
        if token.kind == "datetime":
            stamp = parse_datetime(token.text)
            if stamp is None:
                raise malformed_query(f"line 1:{token.pos} no viable alternative at character")
            return Literal("datetime", stamp)
        if token.kind == "date":
            day = parse_date(token.text)
            if day is None:
                raise malformed_query(f"invalid date: {token.text}")
            return Literal("date", day)
        if token.kind == "number":
            return Literal("number", float(token.text))
        if token.kind == "kw" and token.text.lower() in ("true", "false"):
            return Literal("boolean", token.text.lower() == "true")
        if token.kind == "kw" and token.text.lower() == "null":
            return Literal("null", None)
        raise malformed_query(f"unexpected token: '{token.text}'")


def parse(text: str) -> Query:
    """Parse a SELECT, or raise MALFORMED_QUERY."""
    if not text or not text.strip():
        raise malformed_query("the query is empty")
    return _Parser(text).query()


# -- evaluation ----------------------------------------------------------------------


def _no_column(name: str, sobject: str) -> SalesforceHTTPError:
    return invalid_field(
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
        "custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
        [name],
    )


@dataclass(frozen=True)
class _Path:
    relationship: str | None  # canonical relationship name (``Account``)
    via: FieldDef | None  # the lookup field (``AccountId``)
    target: str  # sObject the final field lives on
    spec: FieldDef


class _Resolver:
    def __init__(self, source: TableSource, sobject: str) -> None:
        self.source = source
        self.sobject = sobject
        self.cache: dict[str, _Path] = {}

    def path(self, text: str) -> _Path:
        key = text.lower()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        parts = text.split(".")
        if len(parts) == 2 and parts[0].lower() == self.sobject.lower():
            parts = parts[1:]
        if len(parts) == 1:
            spec = self.source.visible_field(self.sobject, parts[0])
            if spec is None:
                raise _no_column(parts[0], self.sobject)
            resolved = _Path(None, None, self.sobject, spec)
        elif len(parts) == 2:
            base = self.source.sobject(self.sobject)
            via = base.relationship(parts[0]) if base else None
            if via is None or len(via.reference_to) != 1:
                raise invalid_field(
                    f"Didn't understand relationship '{parts[0]}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r'.",
                    [text],
                )
            target = via.reference_to[0]
            spec = self.source.visible_field(target, parts[1])
            if spec is None:
                raise _no_column(parts[1], target)
            resolved = _Path(via.name.removesuffix("Id"), via, target, spec)
        else:
            raise malformed_query(f"field path too deep: {text}")
        self.cache[key] = resolved
        return resolved

    def value(self, row: Mapping[str, Any], path: _Path) -> Any:
        if path.via is None:
            return row.get(path.spec.name)
        parent_id = row.get(path.via.name)
        parent = self.source.get(path.target, parent_id) if parent_id else None
        return parent.get(path.spec.name) if parent else None


def _check_literal(spec: FieldDef, literal: Literal) -> Any:
    """The literal as comparable with the field's stored values, or Salesforce's refusal."""
    if literal.kind == "null":
        return None
    kind = spec.type
    if kind == "datetime":
        if literal.kind != "datetime":
            raise invalid_field(
                f"value of filter criterion for field '{spec.name}' must be of type dateTime "
                "and should not be enclosed in quotes",
                [spec.name],
            )
        return literal.value
    if kind == "date":
        if literal.kind != "date":
            raise invalid_field(
                f"value of filter criterion for field '{spec.name}' must be of type date and "
                "should not be enclosed in quotes",
                [spec.name],
            )
        return literal.value
    if kind in NUMBER_TYPES:
        if literal.kind != "number":
            raise invalid_field(
                f"value of filter criterion for field '{spec.name}' must be of type "
                f"{kind} and should not be enclosed in quotes",
                [spec.name],
            )
        return literal.value
    if kind == "boolean":
        if literal.kind != "boolean":
            raise invalid_field(
                f"value of filter criterion for field '{spec.name}' must be of type boolean "
                "and should not be enclosed in quotes",
                [spec.name],
            )
        return literal.value
    if literal.kind != "string":
        raise malformed_query(f"invalid value for field '{spec.name}': quote the string")
    return str(literal.value)


def _compare(stored: Any, op: str, value: Any, text: bool) -> bool:
    if text and isinstance(stored, str) and isinstance(value, str):
        stored, value = stored.lower(), value.lower()
    if op == "=":
        return bool(stored == value)
    if op == "!=":
        return bool(stored != value)
    if stored is None or value is None:
        return False
    if op == "<":
        return bool(stored < value)
    if op == "<=":
        return bool(stored <= value)
    if op == ">":
        return bool(stored > value)
    return bool(stored >= value)


def _like(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL)


def _predicate(node: Any, resolver: _Resolver) -> Callable[[Mapping[str, Any]], bool]:
    if isinstance(node, BoolOp):
        parts = [_predicate(p, resolver) for p in node.parts]
        if node.op == "and":
            return lambda row: all(p(row) for p in parts)
        if node.op == "or":
            return lambda row: any(p(row) for p in parts)
        return lambda row: not parts[0](row)
    assert isinstance(node, Comparison)
    path = resolver.path(node.path)
    spec = path.spec
    text = spec.type not in NUMBER_TYPES and spec.type not in (
        "datetime",
        "date",
        "boolean",
        "id",
        "reference",
    )
    values = [_check_literal(spec, lit) for lit in node.values]
    if spec.type in ("id", "reference"):
        values = [v[:15] if isinstance(v, str) and len(v) == 18 else v for v in values]

    def get(row: Mapping[str, Any]) -> Any:
        value = resolver.value(row, path)
        if spec.type in ("id", "reference") and isinstance(value, str):
            return value[:15]
        return value

    if node.op == "like":
        pattern = _like(str(values[0]))
        return lambda row: isinstance(get(row), str) and bool(pattern.match(get(row)))
    if node.op in ("in", "not in"):
        wanted = {v.lower() if text and isinstance(v, str) else v for v in values}
        negate = node.op == "not in"

        def member(row: Mapping[str, Any]) -> bool:
            value = get(row)
            key = value.lower() if text and isinstance(value, str) else value
            return (key in wanted) != negate

        return member
    op = node.op
    value = values[0]
    return lambda row: _compare(get(row), op, value, text)


def _sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)


def run(
    query: Query,
    source: TableSource,
    *,
    include_deleted: bool = False,
    api_version: str = "60.0",
    url_prefix: str = "/services/data",
) -> list[dict[str, Any]]:
    """Evaluate `query`: the matching rows rendered as REST records (with `attributes`)."""
    described = source.sobject(query.sobject)
    if described is None:
        raise SalesforceHTTPError(
            400,
            f"\n{query.sobject}\n^\nERROR at Row:1:Column:1\nsObject type '{query.sobject}' "
            "is not supported. If you are attempting to use a custom object, be sure to "
            "append the '__c' after the entity name.",
            "INVALID_TYPE",
        )
    sobject = described.name
    resolver = _Resolver(source, sobject)
    selected = [resolver.path(name) for name in query.fields]
    keep = _predicate(query.where, resolver) if query.where is not None else None
    deleted_ok = include_deleted and described.get("IsDeleted") is not None
    rows = [r for r in source.rows(sobject, include_deleted=deleted_ok) if keep is None or keep(r)]
    for order in reversed(query.order):
        path = resolver.path(order.path)
        present = [r for r in rows if resolver.value(r, path) is not None]
        missing = [r for r in rows if resolver.value(r, path) is None]
        present.sort(key=lambda r: _sort_key(resolver.value(r, path)), reverse=order.descending)
        rows = present + missing if order.nulls_last else missing + present
    rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    base = f"{url_prefix}/v{api_version}/sobjects"
    return [_render(row, sobject, selected, resolver, base) for row in rows]


def _render(
    row: Mapping[str, Any], sobject: str, selected: list[_Path], resolver: _Resolver, base: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": sobject, "url": f"{base}/{sobject}/{row['Id']}"}}
    for path in selected:
        if path.via is None:
            out[path.spec.name] = render_value(path.spec, row.get(path.spec.name))
            continue
        assert path.relationship is not None
        parent_id = row.get(path.via.name)
        parent = resolver.source.get(path.target, parent_id) if parent_id else None
        if parent is None:
            out.setdefault(path.relationship, None)
            continue
        nested = out.get(path.relationship)
        if not isinstance(nested, dict):
            nested = {
                "attributes": {"type": path.target, "url": f"{base}/{path.target}/{parent['Id']}"}
            }
            out[path.relationship] = nested
        nested[path.spec.name] = render_value(path.spec, parent.get(path.spec.name))
    return out


def render_value(spec: FieldDef, value: Any) -> Any:
    """A stored value as the REST API shows it."""
    if value is None:
        return None
    if spec.type == "datetime":
        return format_datetime(int(value))
    if spec.type in ("double", "currency", "percent") and isinstance(value, int | float):
        return float(value)
    return value
