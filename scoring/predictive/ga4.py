"""Google Analytics 4 behaviour as a lead source: the BigQuery export, read with DuckDB.

GA4's BigQuery export writes one table per day (``events_YYYYMMDD``) with one row per
event: ``event_name``, ``event_timestamp`` (microseconds), ``user_pseudo_id`` (the
cookie client id), ``user_id`` (when the site logs users in) and the repeated record
``event_params`` (``key`` + ``value.{string,int,float,double}_value``). Exported as
newline-delimited JSON or Parquet, the same rows are read here with DuckDB.

The queries live in ``sql/*.sql`` written in **BigQuery Standard SQL**, shaped like
seed 000's query. To run one on BigQuery itself::

    sql = render_query("ga4_user_features.sql", dialect="bigquery",
                       table="my-project.analytics_123456.events_*",
                       start="20251201", end="20260131", cut=cut_datetime)
    # paste into the console, or: bq query --use_legacy_sql=false "$sql"

On DuckDB the same text runs after two documented adjustments: ``SAFE_CAST`` becomes
``TRY_CAST`` (DuckDB's name for the same thing) and a ``FLOAT64`` type alias is
created; the wildcard table is a view over the files with ``_TABLE_SUFFIX`` taken from
``event_date`` (which is what the daily table suffix is).

GA4 users are linked to leads by identity resolution (`IdentityMap`): the logged-in
``user_id`` first, then the cookie client id, which forms store on the lead (for
example a ``ga_client_id`` custom field filled from the ``_ga`` cookie).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import MappingError
from leadbridge.core.models import Activity, Channel, Lead

__all__ = [
    "GA4Export",
    "GA4UserFeatures",
    "IdentityMap",
    "event_to_activity",
    "render_query",
]

SQL_DIR = Path(__file__).resolve().parent / "sql"
_SUFFIX = re.compile(r"^\d{8}$")
_TABLE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_]+\.events_(\*|\d{8})$")
_SAFE_CAST = re.compile(r"\bSAFE_CAST\s*\(", re.IGNORECASE)
_PARAMS_TYPE = (
    "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, "
    "float_value DOUBLE, double_value DOUBLE))[]"
)
_COLUMNS = {
    "event_date": "VARCHAR",
    "event_timestamp": "BIGINT",
    "event_name": "VARCHAR",
    "user_pseudo_id": "VARCHAR",
    "user_id": "VARCHAR",
    "event_params": _PARAMS_TYPE,
}
_FAR_FUTURE_MICROS = 2**62


def _micros(moment: datetime | None) -> int:
    return _FAR_FUTURE_MICROS if moment is None else int(moment.timestamp() * 1_000_000)


def render_query(
    name: str,
    *,
    dialect: Literal["bigquery", "duckdb"],
    start: str,
    end: str,
    cut: datetime | None = None,
    table: str = "events_",
) -> str:
    """The query `name` from ``sql/`` with its placeholders filled for `dialect`.

    `start`/`end` are table suffixes (YYYYMMDD, inclusive); `cut` keeps only events
    strictly before it (point-in-time); `table` is the BigQuery wildcard table
    (``project.dataset.events_*``) and is ignored for DuckDB.
    """
    if not (_SUFFIX.match(start) and _SUFFIX.match(end)):
        raise MappingError("GA4 date bounds must be YYYYMMDD table suffixes")
    path = SQL_DIR / name
    if path.parent != SQL_DIR or not path.is_file():
        raise MappingError(f"no GA4 query named {name!r}")
    sql = path.read_text(encoding="utf-8")
    if dialect == "bigquery":
        if not _TABLE.match(table):
            raise MappingError("BigQuery table must look like project.dataset.events_*")
        events_table = f"`{table}`"
    else:
        events_table = "events_"
        sql = _SAFE_CAST.sub("TRY_CAST(", sql)
    return sql.format(
        events_table=events_table, start_suffix=start, end_suffix=end, cut_micros=_micros(cut)
    )


class GA4UserFeatures(BaseModel):
    """One row of seed 000's per-user aggregate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_pseudo_id: str
    user_id: str | None
    simulator_interactions: int
    avg_loan_amount: float | None
    session_duration_micros: int
    high_intent_actions: int


def _normalise_client_id(value: str) -> str:
    """``GA1.1.123.456`` (the _ga cookie) and ``123.456`` (user_pseudo_id) are one id."""
    parts = value.strip().split(".")
    if len(parts) == 4 and parts[0].upper().startswith("GA"):
        return ".".join(parts[2:])
    return value.strip()


@dataclass(frozen=True)
class IdentityMap:
    """GA4 identifiers to lead keys: login user ids first, then cookie client ids."""

    by_user_id: Mapping[str, str] = field(default_factory=dict)
    by_client_id: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_leads(
        cls,
        leads: Iterable[Lead],
        *,
        client_id_fields: Sequence[str] = ("ga_client_id", "ga4_client_id", "client_id"),
        user_id_fields: Sequence[str] = ("ga4_user_id", "user_id"),
    ) -> IdentityMap:
        """Read the identifiers leads carry in custom fields (or a ``ga4`` source id)."""
        users: dict[str, str] = {}
        clients: dict[str, str] = {}
        for lead in leads:
            for name in user_id_fields:
                value = lead.custom.get(name)
                if isinstance(value, str | int) and str(value):
                    users[str(value)] = lead.key
            if "ga4" in lead.source_ids:
                clients[_normalise_client_id(lead.source_ids["ga4"])] = lead.key
            for name in client_id_fields:
                value = lead.custom.get(name)
                if isinstance(value, str) and value:
                    clients[_normalise_client_id(value)] = lead.key
        return cls(by_user_id=users, by_client_id=clients)

    def resolve(self, user_pseudo_id: str | None, user_id: str | None) -> str | None:
        """The lead key for a GA4 user, or None when the visitor is still anonymous."""
        if user_id and user_id in self.by_user_id:
            return self.by_user_id[user_id]
        if user_pseudo_id:
            return self.by_client_id.get(_normalise_client_id(user_pseudo_id))
        return None


_PAGE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(rate|taux|tarif-credit|interest)", re.I), "page_view:rates"),
    (re.compile(r"(pricing|tarif|prix)", re.I), "page_view:pricing"),
    (re.compile(r"(blog|article|guide)", re.I), "page_view:blog"),
    (re.compile(r"(case-stud|temoignage|etude-de-cas)", re.I), "page_view:case_study"),
    (re.compile(r"(demo)", re.I), "page_view:demo"),
    (re.compile(r"^https?://[^/]+/?(\?.*)?$", re.I), "page_view:home"),
)
_EVENT_KINDS: Mapping[str, str] = {
    "view_mortgage_simulator": "simulator_use",
    "simulator_submit": "simulator_use",
    "download_pdf_guide": "content_download",
    "file_download": "content_download",
    "session_start": "site_visit",
    "generate_lead": "form_submit",
    "form_submit": "form_submit",
}


def event_to_activity(
    lead_key: str,
    event_name: str,
    timestamp_micros: int,
    *,
    page_location: str | None = None,
    engagement_time_msec: float | None = None,
    loan_amount: float | None = None,
    property_value: float | None = None,
) -> Activity | None:
    """A canonical activity for one GA4 event, or None for events we do not use.

    Page views get a page kind from the URL and their engagement time in seconds as
    value (the rates-page "hesitation"); simulator events carry the requested amount as
    value and the property value as an attribute (the implicit loan-to-value).
    """
    at = datetime.fromtimestamp(timestamp_micros / 1_000_000, tz=UTC)
    value: float | None = None
    attributes: dict[str, float | str] = {}
    if event_name == "page_view":
        location = page_location or ""
        kind = next((k for pattern, k in _PAGE_KINDS if pattern.search(location)), None)
        kind = kind or "page_view:other"
        if engagement_time_msec is not None:
            value = engagement_time_msec / 1000.0
        if location:
            attributes["page_location"] = location[:500]
    elif event_name in _EVENT_KINDS:
        kind = _EVENT_KINDS[event_name]
        if kind == "simulator_use":
            value = loan_amount
            if property_value is not None:
                attributes["property_value"] = property_value
    else:
        return None
    return Activity(
        lead_key=lead_key,
        channel=Channel.WEB,
        kind=kind,
        occurred_at=at,
        source="ga4",
        source_id=f"{event_name}:{timestamp_micros}",
        value=value,
        attributes=attributes,
    )


class GA4Export:
    """GA4 export files (NDJSON or Parquet) queried with DuckDB."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        """Open an in-memory DuckDB over the files; all must share one format."""
        files = [str(Path(p)) for p in paths]
        if not files:
            raise MappingError("no GA4 export files given")
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            raise MappingError(f"GA4 export file not found: {missing[0]}")
        suffixes = {Path(f).suffix.lower() for f in files}
        if suffixes <= {".parquet"}:
            source = f"read_parquet({files!r}, union_by_name=true)"
            select = "SELECT " + ", ".join(_COLUMNS)
        elif suffixes <= {".json", ".ndjson", ".jsonl"}:
            columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _COLUMNS.items()) + "}"
            source = f"read_json({files!r}, format='newline_delimited', columns={columns})"
            select = "SELECT *"
        else:
            raise MappingError("GA4 export files must all be .parquet or all NDJSON (.json)")
        self._db = duckdb.connect(":memory:")
        try:
            self._db.execute("CREATE TYPE FLOAT64 AS DOUBLE")
            self._db.execute(
                f"CREATE VIEW events_ AS SELECT *, event_date AS _TABLE_SUFFIX "
                f"FROM ({select} FROM {source})"
            )
        except duckdb.Error as exc:
            raise MappingError(f"GA4 export unreadable: {exc}") from None

    def _run(
        self, name: str, start: str, end: str, cut: datetime | None
    ) -> list[tuple[object, ...]]:
        sql = render_query(name, dialect="duckdb", start=start, end=end, cut=cut)
        try:
            return self._db.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise MappingError(f"GA4 query {name} failed: {exc}") from None

    def user_features(
        self, start: str, end: str, *, cut: datetime | None = None
    ) -> list[GA4UserFeatures]:
        """Seed 000's per-user aggregate over the suffix range, events before `cut`."""
        rows = self._run("ga4_user_features.sql", start, end, cut)
        keys = tuple(GA4UserFeatures.model_fields)
        return [GA4UserFeatures.model_validate(dict(zip(keys, row, strict=True))) for row in rows]

    def activities(
        self, identity: IdentityMap, start: str, end: str, *, cut: datetime | None = None
    ) -> tuple[list[Activity], int]:
        """Canonical activities of identified users, and the count of anonymous events."""
        out: list[Activity] = []
        anonymous = 0
        for row in self._run("ga4_events.sql", start, end, cut):
            pseudo, user, name, ts, page, engagement, amount, prop = row
            key = identity.resolve(
                None if pseudo is None else str(pseudo), None if user is None else str(user)
            )
            if key is None:
                anonymous += 1
                continue
            activity = event_to_activity(
                key,
                str(name),
                int(str(ts)),
                page_location=None if page is None else str(page),
                engagement_time_msec=_float(engagement),
                loan_amount=_float(amount),
                property_value=_float(prop),
            )
            if activity is not None:
                out.append(activity)
        return out, anonymous

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._db.close()


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
