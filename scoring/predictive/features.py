"""Point-in-time lead features: declared, versioned, and built by one vectorised function.

Every feature is declared once in `FEATURES` (name, group, meaning, when it is known);
`FEATURE_SET_VERSION` changes whenever a definition does, and a model card records the
version it was trained with so live scoring refuses a mismatched model. The *same*
`build_features` produces training rows and live rows; the only difference is the cut
time per lead: for training, the moment the outcome became known (a converted lead is
cut at its conversion, so no post-conversion event leaks in); live, "now".

Only activities strictly before a lead's cut count. Activities done *by sales* (calls,
meetings, sent emails, notes) happen after contact and are left out, like CRM fields
filled after contact (see `leakage.LEAD_FIELD_TIMING`).

The builder works on columnar arrays (`ActivityColumns`, `LeadColumns`) so a million
leads take seconds; `from_activities`/`from_leads` convert the common schema's models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from leadbridge.core.models import Activity, Channel, Lead
from leadbridge.core.vocabulary import KINDS
from leadbridge.scoring.predictive.leakage import FieldTiming

__all__ = [
    "AFTER_CONTACT_KINDS",
    "FEATURES",
    "FEATURE_SET_VERSION",
    "ActivityColumns",
    "FeatureSpec",
    "LeadColumns",
    "build_features",
    "feature_groups",
    "feature_names",
]

FEATURE_SET_VERSION = "activity-v1"
HALF_LIFE_DAYS = 30.0
WINDOW_DAYS = 30.0
_DAY = 86_400.0

CHANNELS: tuple[Channel, ...] = tuple(Channel)
AFTER_CONTACT_KINDS: frozenset[str] = frozenset(
    {"call_completed", "call_refused", "meeting_held", "email_sent", "note"}
)
"""Kinds recorded when sales acts on a lead: known only after contact, never features."""
CAPTURE_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k not in AFTER_CONTACT_KINDS)
_KIND_CODE: dict[str, int] = {kind: i for i, kind in enumerate(KINDS)}
_AFTER_CONTACT_CODES = np.array(sorted(_KIND_CODE[k] for k in AFTER_CONTACT_KINDS))
_CAPTURE_CODES = np.array([_KIND_CODE[k] for k in CAPTURE_KINDS])
_SIM = _KIND_CODE["simulator_use"]
_RATES = _KIND_CODE["page_view:rates"]
_WEB = CHANNELS.index(Channel.WEB)

SENIORITY_RANK: Mapping[str, int] = {
    "intern": 0,
    "entry": 1,
    "individual": 1,
    "senior": 2,
    "manager": 3,
    "director": 4,
    "vp": 5,
    "executive": 5,
    "c_level": 6,
    "c-level": 6,
    "owner": 6,
    "partner": 6,
}
FREE_MAIL: frozenset[str] = frozenset(
    {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "gmx.ch",
        "gmx.de",
        "web.de",
        "bluewin.ch",
        "orange.fr",
        "free.fr",
        "icloud.com",
        "proton.me",
        "protonmail.com",
    }
)


@dataclass(frozen=True)
class FeatureSpec:
    """One declared feature: stable name, source group, meaning and when it is known."""

    name: str
    group: str
    description: str
    known_at: FieldTiming = FieldTiming.AT_CAPTURE


def _declare() -> tuple[FeatureSpec, ...]:
    specs = [
        FeatureSpec("fit:company_size_log", "company_size", "log(1 + employees)"),
        FeatureSpec("fit:annual_revenue_log", "annual_revenue", "log(1 + annual revenue)"),
        FeatureSpec("fit:seniority_rank", "seniority", "0 intern .. 6 C-level/owner"),
        FeatureSpec("fit:has_email", "email", "1 if an email address is known"),
        FeatureSpec("fit:free_email", "email", "1 if the email is on a free-mail domain"),
        FeatureSpec("fit:has_phone", "phone", "1 if a phone number is known"),
        FeatureSpec("fit:has_company", "company", "1 if a company name is known"),
        FeatureSpec("fit:has_job_title", "job_title", "1 if a job title is known"),
        FeatureSpec("fit:do_not_call", "consent", "1 if the lead asked not to be called"),
        FeatureSpec("fit:email_opt_in", "consent", "1 opted in, 0 opted out, NaN unknown"),
        FeatureSpec(
            "time:days_since_first_touch",
            "first_touch",
            "days from first activity (or creation) to the cut",
        ),
        FeatureSpec("time:recency_days", "recency", "days from the last activity to the cut"),
        FeatureSpec(
            "time:visits_30d",
            "visits_30d",
            "distinct days with web activity in the 30 days before the cut",
        ),
        FeatureSpec(
            "seed:implicit_ltv",
            "simulator",
            "latest simulator amount / property value (implicit loan-to-value)",
        ),
        FeatureSpec("seed:loan_amount", "simulator", "latest simulator requested amount"),
        FeatureSpec("seed:simulator_uses", "simulator", "simulator uses before the cut"),
        FeatureSpec(
            "seed:rates_hesitation_s",
            "rates_page",
            "total seconds on the rates page (price-sensitivity signal)",
        ),
        FeatureSpec("seed:rates_views", "rates_page", "rates page views before the cut"),
    ]
    for channel in CHANNELS:
        specs.append(
            FeatureSpec(
                f"channel:{channel.value}:count",
                f"channel:{channel.value}",
                f"{channel.value} activities before the cut",
            )
        )
        specs.append(
            FeatureSpec(
                f"channel:{channel.value}:decayed",
                f"channel:{channel.value}",
                f"{channel.value} activities, {HALF_LIFE_DAYS:g}-day half-life",
            )
        )
    for kind in CAPTURE_KINDS:
        specs.append(FeatureSpec(f"kind:{kind}:count", f"kind:{kind}", f"'{kind}' count"))
        specs.append(
            FeatureSpec(
                f"kind:{kind}:decayed",
                f"kind:{kind}",
                f"'{kind}' count, {HALF_LIFE_DAYS:g}-day half-life",
            )
        )
    return tuple(specs)


FEATURES: tuple[FeatureSpec, ...] = _declare()


def feature_names() -> tuple[str, ...]:
    """Names of the activity feature set, in matrix order."""
    return tuple(spec.name for spec in FEATURES)


def feature_groups() -> tuple[str, ...]:
    """Source group of each feature (what an explanation names), in matrix order."""
    return tuple(spec.group for spec in FEATURES)


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


@dataclass(frozen=True)
class ActivityColumns:
    """Activities as parallel arrays; `lead_index` points into the lead arrays."""

    lead_index: NDArray[np.int64]
    kind_code: NDArray[np.int64]
    channel_code: NDArray[np.int64]
    ts: NDArray[np.float64]
    value: NDArray[np.float64]
    count: NDArray[np.float64]
    property_value: NDArray[np.float64]

    @classmethod
    def from_activities(
        cls, activities: Sequence[Activity], lead_keys: Sequence[str]
    ) -> ActivityColumns:
        """Columns from the common schema; activities of unknown leads are skipped."""
        index = {key: i for i, key in enumerate(lead_keys)}
        rows = [a for a in activities if a.lead_key in index]
        n = len(rows)
        channel_index = {c: i for i, c in enumerate(CHANNELS)}

        def prop(a: Activity) -> float:
            raw = a.attributes.get("property_value")
            return (
                float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else np.nan
            )

        return cls(
            lead_index=np.fromiter((index[a.lead_key] for a in rows), np.int64, n),
            kind_code=np.fromiter((_KIND_CODE.get(a.kind, -1) for a in rows), np.int64, n),
            channel_code=np.fromiter((channel_index[a.channel] for a in rows), np.int64, n),
            ts=np.fromiter((_seconds(a.occurred_at) for a in rows), np.float64, n),
            value=np.fromiter(
                (np.nan if a.value is None else a.value for a in rows), np.float64, n
            ),
            count=np.fromiter((a.count for a in rows), np.float64, n),
            property_value=np.fromiter((prop(a) for a in rows), np.float64, n),
        )


@dataclass(frozen=True)
class LeadColumns:
    """Profile (fit) attributes as arrays, one row per lead."""

    company_size: NDArray[np.float64]
    annual_revenue: NDArray[np.float64]
    seniority_rank: NDArray[np.float64]
    has_email: NDArray[np.float64]
    free_email: NDArray[np.float64]
    has_phone: NDArray[np.float64]
    has_company: NDArray[np.float64]
    has_job_title: NDArray[np.float64]
    do_not_call: NDArray[np.float64]
    email_opt_in: NDArray[np.float64]
    created_ts: NDArray[np.float64]

    @property
    def n(self) -> int:
        """Number of leads."""
        return int(self.company_size.shape[0])

    @classmethod
    def from_leads(cls, leads: Sequence[Lead]) -> LeadColumns:
        """Columns from the common schema (only fields known at capture are read)."""

        def arr(values: Sequence[float | None]) -> NDArray[np.float64]:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        def domain(email: str | None) -> float | None:
            if not email or "@" not in email:
                return None
            return 1.0 if email.rsplit("@", 1)[1].casefold() in FREE_MAIL else 0.0

        def rank(seniority: str | None) -> float | None:
            if seniority is None:
                return None
            value = SENIORITY_RANK.get(seniority.strip().casefold().replace(" ", "_"))
            return None if value is None else float(value)

        return cls(
            company_size=arr([lead.company_size for lead in leads]),
            annual_revenue=arr([lead.annual_revenue for lead in leads]),
            seniority_rank=arr([rank(lead.seniority) for lead in leads]),
            has_email=arr([float(bool(lead.email)) for lead in leads]),
            free_email=arr([domain(lead.email) for lead in leads]),
            has_phone=arr([float(bool(lead.phone)) for lead in leads]),
            has_company=arr([float(bool(lead.company)) for lead in leads]),
            has_job_title=arr([float(bool(lead.job_title)) for lead in leads]),
            do_not_call=arr([float(lead.consent.do_not_call) for lead in leads]),
            email_opt_in=arr(
                [
                    None
                    if lead.consent.marketing_email is None
                    else float(lead.consent.marketing_email)
                    for lead in leads
                ]
            ),
            created_ts=arr(
                [None if lead.created_at is None else _seconds(lead.created_at) for lead in leads]
            ),
        )


def _log1p(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.log1p(np.clip(values, 0.0, None)), dtype=np.float64)


def build_features(
    leads: LeadColumns, activities: ActivityColumns, cut: NDArray[np.float64]
) -> NDArray[np.float32]:
    """The feature matrix (leads x `FEATURES`), each lead seen as of its own cut time.

    `cut` holds one epoch-seconds value per lead; only activities strictly before it
    count, and ages, windows and decay are measured from it.
    """
    n = leads.n
    if cut.shape != (n,):
        raise ValueError("one cut time per lead is required")
    out = np.full((n, len(FEATURES)), np.nan, dtype=np.float32)
    fit = (
        _log1p(leads.company_size),
        _log1p(leads.annual_revenue),
        leads.seniority_rank,
        leads.has_email,
        leads.free_email,
        leads.has_phone,
        leads.has_company,
        leads.has_job_title,
        leads.do_not_call,
        leads.email_opt_in,
    )
    for j, column in enumerate(fit):
        out[:, j] = column
    j = len(fit)

    acts = activities
    lead_cut = cut[acts.lead_index]
    keep = (acts.ts < lead_cut) & ~np.isin(acts.kind_code, _AFTER_CONTACT_CODES)
    li = acts.lead_index[keep]
    ts = acts.ts[keep]
    kind = acts.kind_code[keep]
    channel = acts.channel_code[keep]
    count = acts.count[keep]
    age_days = (lead_cut[keep] - ts) / _DAY
    decay = count * np.exp2(-age_days / HALF_LIFE_DAYS)

    # timing: first touch, recency, distinct web days in the window
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, li, ts)
    np.maximum.at(last, li, ts)
    first = np.fmin(np.where(np.isinf(first), np.nan, first), leads.created_ts)
    has_any = np.isfinite(last)
    out[:, j] = np.where(np.isnan(first), np.nan, (cut - first) / _DAY)
    out[:, j + 1] = np.where(has_any, (cut - last) / _DAY, np.nan)
    recent_web = (channel == _WEB) & (age_days <= WINDOW_DAYS)
    day = np.floor(ts[recent_web] / _DAY).astype(np.int64)
    pairs = np.unique(li[recent_web] * np.int64(1 << 24) + (day - day.min() if day.size else day))
    out[:, j + 2] = np.bincount(pairs >> 24, minlength=n) if pairs.size else 0.0
    j += 3

    # seed 000: simulator (implicit LTV) and rates-page hesitation
    sim = kind == _SIM
    s_li, s_ts = li[sim], ts[sim]
    s_val = acts.value[keep][sim]
    s_prop = acts.property_value[keep][sim]
    order = np.lexsort((s_ts, s_li))
    if order.size:
        ordered_li = s_li[order]
        is_last = np.append(ordered_li[1:] != ordered_li[:-1], True)
        rows = order[is_last]
        amount = s_val[rows]
        prop = s_prop[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            ltv = np.where(prop > 0, amount / prop, np.nan)
        out[s_li[rows], j] = ltv
        out[s_li[rows], j + 1] = amount
    out[:, j + 2] = np.bincount(s_li, weights=count[sim], minlength=n)
    rates = kind == _RATES
    seconds = np.nan_to_num(acts.value[keep][rates])
    out[:, j + 3] = np.bincount(li[rates], weights=seconds, minlength=n)
    out[:, j + 4] = np.bincount(li[rates], weights=count[rates], minlength=n)
    j += 5

    # per channel and per kind: counts and decayed sums
    n_ch = len(CHANNELS)
    flat = li * n_ch + channel
    counts = np.bincount(flat, weights=count, minlength=n * n_ch).reshape(n, n_ch)
    decayed = np.bincount(flat, weights=decay, minlength=n * n_ch).reshape(n, n_ch)
    out[:, j : j + 2 * n_ch : 2] = counts
    out[:, j + 1 : j + 2 * n_ch : 2] = decayed
    j += 2 * n_ch
    n_kinds = len(KINDS)
    known = kind >= 0
    flat = li[known] * n_kinds + kind[known]
    counts = np.bincount(flat, weights=count[known], minlength=n * n_kinds).reshape(n, n_kinds)
    decayed = np.bincount(flat, weights=decay[known], minlength=n * n_kinds).reshape(n, n_kinds)
    m = _CAPTURE_CODES.size
    out[:, j : j + 2 * m : 2] = counts[:, _CAPTURE_CODES]
    out[:, j + 1 : j + 2 * m : 2] = decayed[:, _CAPTURE_CODES]
    return out
