"""Where a connection meets its predictive model: history, scorer, feedback cycle.

The sync engine mirrors each CRM's leads, activities and outcomes in the state store, so
that mirror *is* the training history: `train_connection` builds point-in-time rows from
it (`leadbridge model train --connection`), `connection_scorer` blends the connection's
champion model with the rules (`[predictive]`), and `retrain_connection` runs the feedback
cycle the daemon schedules. A promotion marks every lead dirty so the next sync writes the
new model's scores. Models live in the state store's registry under the connection's
name, so cards and artefacts sit next to the scores they produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from leadbridge.core.errors import ConfigError
from leadbridge.core.models import Activity, Lead, Outcome
from leadbridge.core.protocols import Scorer
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.feedback import FeedbackReport, run_feedback_cycle
from leadbridge.scoring.predictive.history import train_from_history
from leadbridge.scoring.predictive.outcomes import ColdStart
from leadbridge.scoring.predictive.registry import ModelRegistry
from leadbridge.scoring.predictive.scorer import PredictiveScorer
from leadbridge.scoring.predictive.training import TrainConfig
from leadbridge.sync.config import ConnectionConfig, LeadbridgeConfig, PredictiveSettings
from leadbridge.sync.state import StateStore

__all__ = [
    "ConnectionHistory",
    "connection_history",
    "connection_scorer",
    "model_name",
    "retrain_connection",
    "train_connection",
]


POPULATION_SAMPLE = 20_000
"""Live leads drawn for the drift check: PSI needs a sample, not the whole CRM."""


@dataclass(frozen=True)
class ConnectionHistory:
    """What training needs from the state store, without loading the whole CRM.

    `leads` are the leads with an outcome (the training rows), `population` a seeded
    sample of today's live leads (the drift check); `activities` cover both.
    """

    leads: tuple[Lead, ...]
    activities: tuple[Activity, ...]
    outcomes: tuple[Outcome, ...]
    population: tuple[Lead, ...]


def connection_history(
    store: StateStore, connection: str, *, sample: int = POPULATION_SAMPLE
) -> ConnectionHistory:
    """The connection's leads with outcomes, a sample of its live leads, their activities."""
    live = store.lead_keys(connection)
    if not live:
        raise ConfigError(
            f"no synced leads for connection {connection!r}: run `leadbridge sync` first",
            key=f"connection.{connection}",
        )
    outcomes = tuple(store.outcomes(connection))
    alive = set(live)
    decided = sorted({o.lead_key for o in outcomes} & alive)
    rng = np.random.default_rng(0)
    drawn = live if len(live) <= sample else rng.choice(live, size=sample, replace=False)
    population = sorted(str(k) for k in drawn)
    needed = sorted(set(decided) | set(population))
    records = store.load_leads(connection, needed)
    acts = store.load_activities(connection, needed)
    return ConnectionHistory(
        leads=tuple(records[k].lead for k in decided if k in records),
        activities=tuple(a for k in needed for a in acts.get(k, ())),
        outcomes=outcomes,
        population=tuple(records[k].lead for k in population if k in records),
    )


def model_name(settings: PredictiveSettings, conn: ConnectionConfig) -> str:
    """The registry name of a connection's model."""
    return settings.model or conn.name


def _cold_start(settings: PredictiveSettings) -> ColdStart:
    return ColdStart(min_outcomes=settings.min_outcomes, min_per_class=settings.min_per_class)


def connection_scorer(
    config: LeadbridgeConfig, conn: ConnectionConfig, store: StateStore, rules: Scorer
) -> Scorer:
    """The rules alone, or the champion blended with them when `[predictive]` is enabled."""
    settings = config.predictive
    if not settings.enabled:
        return rules
    champion = ModelRegistry(store.engine).champion(model_name(settings, conn))
    return PredictiveScorer(
        champion, rules=rules, blend=settings.blend, top_factors=settings.top_factors
    )


def train_connection(
    config: LeadbridgeConfig,
    conn: ConnectionConfig,
    store: StateStore,
    *,
    rules: Scorer | None = None,
    train_config: TrainConfig | None = None,
) -> TrainedModel:
    """Train (not register) a model from the connection's synced history.

    Raises `ColdStartError` below the configured number of decided outcomes.
    """
    settings = config.predictive
    history = connection_history(store, conn.name)
    return train_from_history(
        history.leads,
        history.activities,
        history.outcomes,
        config=train_config,
        cold_start=_cold_start(settings),
        rules_scorer=rules,
        name=model_name(settings, conn),
    )


def retrain_connection(
    config: LeadbridgeConfig,
    conn: ConnectionConfig,
    store: StateStore,
    *,
    as_of: datetime,
    rules: Scorer | None = None,
    train_config: TrainConfig | None = None,
) -> FeedbackReport:
    """One feedback cycle: retrain, promote if better on recent outcomes, check drift.

    A promotion marks the connection's leads dirty: the next sync rescores them all.
    """
    settings = config.predictive
    try:
        history = connection_history(store, conn.name)
    except ConfigError as exc:
        return FeedbackReport(name=model_name(settings, conn), cold_start=str(exc))
    report = run_feedback_cycle(
        ModelRegistry(store.engine),
        history.leads,
        history.activities,
        history.outcomes,
        as_of=as_of,
        name=model_name(settings, conn),
        config=train_config,
        cold_start=_cold_start(settings),
        rules_scorer=rules,
        min_gain=settings.min_gain,
        population=history.population,
    )
    if report.decision is not None and report.decision.promoted:
        store.mark_all_dirty(conn.name)
    return report
