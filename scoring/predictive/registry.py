"""The model registry: versioned artifacts, champion/challenger, promotion and rollback.

Models live in two SQLAlchemy tables of the state store (SQLite file or PostgreSQL,
the same tests run on both): ``predictive_models`` holds each version's XGBoost UBJ bytes and its
JSON model card (training data hash, feature list, metrics, dates); nothing is
pickled. ``predictive_events`` is the append-only log of registrations, promotions,
rejections and rollbacks; the champion is *derived* from it (each promotion pushes a
version, each rollback pops one), so "who was champion when" is always answerable and
`rollback` is one call.

A challenger is promoted only if it beats the champion's ROC AUC on the *same* recent
holdout rows (`Holdout`); the first model of a name is promoted unopposed.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from leadbridge.core.database import create_tables, database_url, safe_url
from leadbridge.core.errors import ScoringError, StateError
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.evaluation import metrics
from leadbridge.scoring.predictive.tabular import CsvTable, TabularFrame

__all__ = ["Holdout", "ModelRecord", "ModelRegistry", "PromotionDecision"]


class _Base(DeclarativeBase):
    metadata = MetaData()


class _ModelRow(_Base):
    __tablename__ = "predictive_models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data_hash: Mapped[str] = mapped_column(String(64))
    roc_auc: Mapped[float | None] = mapped_column(Float, nullable=True)
    card_json: Mapped[str] = mapped_column(Text)
    model_ubj: Mapped[bytes] = mapped_column(LargeBinary)


class _EventRow(_Base):
    __tablename__ = "predictive_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("predictive_models.id"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text, default="")


class ModelRecord(BaseModel):
    """One registered version as `leadbridge model list` shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    champion: bool
    created_at: datetime
    trained_at: datetime
    data_hash: str
    roc_auc: float | None
    kind: str


class PromotionDecision(BaseModel):
    """What `promote` decided and on what evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    challenger: str
    champion: str | None
    promoted: bool
    challenger_auc: float | None
    champion_auc: float | None
    holdout_rows: int
    reason: str


@dataclass(frozen=True)
class Holdout:
    """Recent labelled rows both models are judged on; `features` encodes them per model."""

    y: NDArray[np.int8]
    features: Callable[[TrainedModel], NDArray[np.float32]]

    @classmethod
    def from_matrix(cls, x: NDArray[np.float32], y: NDArray[np.int8]) -> Holdout:
        """Rows already built with the activity feature set (CRM-history models)."""
        return cls(y=y, features=lambda _model: x)

    @classmethod
    def from_table(cls, table: CsvTable, *, target: str, positive: str) -> Holdout:
        """A labelled CSV; each tabular model encodes it with its own encoder."""
        frame = TabularFrame.from_table(table, target=target, positive=positive)

        def encode(model: TrainedModel) -> NDArray[np.float32]:
            if model.card.encoder is None:
                raise ScoringError(f"model {model.version} was not trained on a CSV export")
            return model.card.encoder.encode_table(table)

        return cls(y=frame.y, features=encode)

    def auc(self, model: TrainedModel) -> float | None:
        """The model's ROC AUC on these rows (None if only one class is present)."""
        return metrics(self.y, model.predict(self.features(model))).roc_auc


def _top(stack: list[str]) -> str | None:
    return stack[-1] if stack else None


_REGISTER_ATTEMPTS = 5


def _take_turn(session: Session, name: str) -> None:
    """Hold the lock that serialises registrations of `name` until the transaction ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        digest = hashlib.blake2b(f"predictive:{name}".encode(), digest_size=8).digest()
        session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, signed=True))))
    elif dialect == "sqlite":  # a write that changes nothing takes the database write lock
        session.connection().exec_driver_sql("UPDATE predictive_models SET name = name WHERE 0")


def _utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; PostgreSQL in the session's zone. Both are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ModelRegistry:
    """Versioned models in the state store; accepts an `Engine` or a database URL."""

    def __init__(self, engine: Engine | str) -> None:
        """Connect (SQLite or PostgreSQL) and create the registry tables if they are missing."""
        where = engine if isinstance(engine, str) else engine.url
        self._owns_engine = isinstance(engine, str)
        try:
            self.engine = (
                create_engine(database_url(engine, what="model registry"))
                if isinstance(engine, str)
                else engine
            )
            create_tables(self.engine, _Base.metadata)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StateError(
                f"model registry {safe_url(where)} unusable: {exc.__class__.__name__}"
            ) from None

    def close(self) -> None:
        """Release the connections of an engine the registry opened itself (from a URL)."""
        if self._owns_engine:
            self.engine.dispose()

    def register(self, model: TrainedModel, *, name: str | None = None) -> TrainedModel:
        """Store a new version (``v1``, ``v2``...) as a challenger; returns it versioned.

        Registrations of one name take turns (a PostgreSQL advisory lock, SQLite's write
        lock) so concurrent processes get consecutive versions; should two still pick the
        same number, the (name, version) constraint rejects one, which retries.
        """
        key = name or model.card.name
        for attempt in range(_REGISTER_ATTEMPTS):
            try:
                return self._register(model, key)
            except IntegrityError:
                if attempt == _REGISTER_ATTEMPTS - 1:
                    raise StateError(f"could not allocate a version for model {key!r}") from None
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _register(self, model: TrainedModel, key: str) -> TrainedModel:
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            _take_turn(session, key)
            count = len(session.scalars(select(_ModelRow.id).where(_ModelRow.name == key)).all())
            version = f"v{count + 1}"
            stored = model.with_card(name=key, version=version)
            row = _ModelRow(
                name=key,
                version=version,
                created_at=now,
                trained_at=stored.card.trained_at,
                data_hash=stored.card.data_hash,
                roc_auc=stored.card.report.model.roc_auc,
                card_json=stored.card.model_dump_json(),
                model_ubj=stored.model_bytes("ubj"),
            )
            session.add(row)
            session.flush()
            session.add(self._event(row, "register", now, "challenger"))
        return stored

    def _event(self, row: _ModelRow, action: str, at: datetime, detail: str) -> _EventRow:
        return _EventRow(
            model_id=row.id, name=row.name, version=row.version, action=action, at=at, detail=detail
        )

    def _row(self, session: Session, name: str, version: str) -> _ModelRow:
        row = session.scalars(
            select(_ModelRow).where(_ModelRow.name == name, _ModelRow.version == version)
        ).first()
        if row is None:
            raise ScoringError(f"model {name!r} has no version {version!r}")
        return row

    def _stack(self, session: Session, name: str) -> list[str]:
        events = session.scalars(
            select(_EventRow).where(_EventRow.name == name).order_by(_EventRow.id)
        ).all()
        stack: list[str] = []
        for event in events:
            if event.action == "promote":
                stack.append(event.version)
            elif event.action == "rollback" and stack:
                stack.pop()
        return stack

    def champion_version(self, name: str) -> str | None:
        """The current champion's version, or None if nothing was promoted yet."""
        with Session(self.engine) as session:
            stack = self._stack(session, name)
        return stack[-1] if stack else None

    def load(self, name: str, version: str | None = None) -> TrainedModel:
        """A stored version, or the champion when `version` is None."""
        with Session(self.engine) as session:
            wanted = version or _top(self._stack(session, name))
            if wanted is None:
                raise ScoringError(f"model {name!r} has no champion yet")
            row = self._row(session, name, wanted)
            return TrainedModel.from_bytes(row.model_ubj, row.card_json)

    def champion(self, name: str) -> TrainedModel | None:
        """The champion model, or None (cold start: rules only)."""
        version = self.champion_version(name)
        return None if version is None else self.load(name, version)

    def list(self, name: str | None = None) -> list[ModelRecord]:
        """Every registered version, oldest first, with the champion marked."""
        with Session(self.engine) as session:
            query = select(_ModelRow).order_by(_ModelRow.name, _ModelRow.id)
            if name is not None:
                query = query.where(_ModelRow.name == name)
            rows = session.scalars(query).all()
            champions = {n: _top(self._stack(session, n)) for n in {r.name for r in rows}}
            return [
                ModelRecord(
                    name=row.name,
                    version=row.version,
                    champion=champions[row.name] == row.version,
                    created_at=_utc(row.created_at),
                    trained_at=_utc(row.trained_at),
                    data_hash=row.data_hash,
                    roc_auc=row.roc_auc,
                    kind=TrainedModel.from_bytes(row.model_ubj, row.card_json).card.kind,
                )
                for row in rows
            ]

    def promote(
        self,
        name: str,
        version: str,
        *,
        holdout: Holdout | None,
        min_gain: float = 0.0,
    ) -> PromotionDecision:
        """Make `version` champion if it beats the champion on `holdout` by > `min_gain`."""
        now = datetime.now(UTC)
        current = self.champion_version(name)
        challenger = self.load(name, version)
        if current == version:
            return PromotionDecision(
                name=name,
                challenger=version,
                champion=current,
                promoted=False,
                challenger_auc=None,
                champion_auc=None,
                holdout_rows=0,
                reason=f"{version} is already the champion",
            )
        challenger_auc = champion_auc = None
        rows = 0
        if current is None:
            promoted, reason = True, "first model: promoted unopposed"
        elif holdout is None:
            raise ScoringError("a holdout is needed to compare the challenger with the champion")
        else:
            rows = int(holdout.y.size)
            challenger_auc = holdout.auc(challenger)
            champion_auc = holdout.auc(self.load(name, current))
            if challenger_auc is None or champion_auc is None:
                raise ScoringError("the holdout needs both outcomes to compare models")
            promoted = challenger_auc > champion_auc + min_gain
            verdict = "beats" if promoted else "does not beat"
            reason = (
                f"{version} {verdict} {current} on {rows} holdout rows "
                f"(ROC AUC {challenger_auc:.4f} vs {champion_auc:.4f})"
            )
        with Session(self.engine) as session, session.begin():
            row = self._row(session, name, version)
            session.add(self._event(row, "promote" if promoted else "reject", now, reason))
        return PromotionDecision(
            name=name,
            challenger=version,
            champion=current,
            promoted=promoted,
            challenger_auc=challenger_auc,
            champion_auc=champion_auc,
            holdout_rows=rows,
            reason=reason,
        )

    def rollback(self, name: str) -> str:
        """Restore the previous champion; returns its version."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            stack = self._stack(session, name)
            if len(stack) < 2:
                raise ScoringError(f"model {name!r} has no previous champion to roll back to")
            row = self._row(session, name, stack[-1])
            session.add(self._event(row, "rollback", now, f"back to {stack[-2]}"))
        return stack[-2]
