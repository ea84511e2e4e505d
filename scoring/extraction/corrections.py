"""Corrections: what brokers fixed in the CRM, stored and fed back into training.

Seed 001's human-in-the-loop: agents correct the extracted fields in the CRM and the
corrected data re-enters the training set for the periodic retrain. A correction is
"field F of this message is V" (or "has no value", V = None); the store is a SQLite
file or a PostgreSQL database through SQLAlchemy, the newest correction of a (message,
field) wins, and `retrain` mixes the corrected messages into the synthetic corpus (see
`training.train`) and writes a new model file, leaving the shipped one untouched.

    >>> store = CorrectionStore(":memory:")
    >>> store.correct(None, "job_status", "permanent", text="je suis en CDI") > 0
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Integer, String, Text, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from leadbridge.core.database import create_tables, database_url, safe_url
from leadbridge.core.errors import ScoringError, StateError
from leadbridge.scoring.extraction.amounts import CURRENCIES
from leadbridge.scoring.extraction.extractor import Extractor
from leadbridge.scoring.extraction.lexicon import FIELD_LABELS
from leadbridge.scoring.extraction.training import (
    DEFAULT_SEED,
    DEFAULT_SIZE,
    CorrectedMessage,
    TrainReport,
    train,
)

__all__ = [
    "CORRECTABLE",
    "DEFAULT_RETRAINED_MODEL",
    "DEFAULT_STORE",
    "Correction",
    "CorrectionStore",
    "retrain",
]

DEFAULT_STORE = Path(".leadbridge") / "extraction.db"
"""Default corrections database, relative to the working directory."""

DEFAULT_RETRAINED_MODEL = Path(".leadbridge") / "extraction-model.npz"
"""Where `retrain` writes by default; the CLI uses it when it exists."""

CORRECTABLE: tuple[str, ...] = (
    "requested_amount",
    "property_value",
    "down_payment",
    "currency",
    "job_status",
    "property_type",
    "energy_class",
    "loan_purpose",
    "target_month",
)
"""Fields a human can correct (ltv is derived, so it is corrected through its inputs)."""

_AMOUNTS = ("requested_amount", "property_value", "down_payment")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "extraction_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Correction:
    """One stored correction."""

    id: int
    message_id: str | None
    text: str
    lang: str | None
    sent_at: datetime
    field: str
    value: str | int | None
    created_at: datetime


def normalise_value(field: str, value: str | int | None) -> str | int | None:
    """Validate a corrected value for `field`; None/"" means the field has no value."""
    if field not in CORRECTABLE:
        raise ScoringError(f"cannot correct {field!r}; choose one of {', '.join(CORRECTABLE)}")
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    text = str(value).strip()
    if field in _AMOUNTS:
        digits = re.sub(r"[ '’_.,]", "", text)
        if not digits.isdigit():
            raise ScoringError(f"{field} must be a whole number, got {text!r}")
        return int(digits)
    if field == "currency":
        code = text.upper()
        if code not in CURRENCIES:
            raise ScoringError(f"currency must be one of {', '.join(CURRENCIES)}, got {text!r}")
        return code
    if field == "target_month":
        if not _MONTH.match(text):
            raise ScoringError(f"target_month must be YYYY-MM, got {text!r}")
        return text
    labels = FIELD_LABELS[field]
    label = text.upper() if field == "energy_class" else text.lower()
    if label not in labels:
        raise ScoringError(f"{field} must be one of {', '.join(labels)}, got {text!r}")
    return label


class CorrectionStore:
    """Corrections in a SQLite file (or ``":memory:"``) or any PostgreSQL database URL."""

    def __init__(self, path: Path | str = DEFAULT_STORE) -> None:
        target = str(path)
        try:
            self._engine = create_engine(database_url(target, what="corrections store"))
            create_tables(self._engine, _Base.metadata)
        except (SQLAlchemyError, ImportError) as exc:
            raise StateError(
                f"cannot open corrections store {safe_url(target)}: {exc.__class__.__name__}"
            ) from None

    def close(self) -> None:
        """Release the store's database connections (a server keeps them open otherwise)."""
        self._engine.dispose()

    def correct(
        self,
        message_id: str | None,
        field: str,
        value: str | int | None,
        *,
        text: str | None = None,
        lang: str | None = None,
        sent_at: datetime | None = None,
    ) -> int:
        """Record that `field` of a message is `value`; returns the correction id.

        The message is given by its text, or by a `message_id` already seen with a text.
        """
        clean = normalise_value(field, value)
        with Session(self._engine) as session:
            if text is None:
                if message_id is None:
                    raise ScoringError("give the message text or a known message id")
                known = session.scalars(
                    select(_Row).where(_Row.message_id == message_id).order_by(_Row.id.desc())
                ).first()
                if known is None:
                    raise ScoringError(f"unknown message id {message_id!r}; pass its text")
                text, lang, sent_at = known.text, lang or known.lang, sent_at or known.sent_at
            row = _Row(
                message_id=message_id,
                text=text,
                lang=lang,
                sent_at=sent_at or datetime.now(UTC),
                field=field,
                value=json.dumps(clean),
                created_at=datetime.now(UTC),
            )
            session.add(row)
            session.commit()
            return row.id

    def corrections(self) -> list[Correction]:
        """Every stored correction, oldest first."""
        with Session(self._engine) as session:
            rows = session.scalars(select(_Row).order_by(_Row.id)).all()
            return [
                Correction(
                    id=r.id,
                    message_id=r.message_id,
                    text=r.text,
                    lang=r.lang,
                    sent_at=_utc(r.sent_at),
                    field=r.field,
                    value=json.loads(r.value),
                    created_at=_utc(r.created_at),
                )
                for r in rows
            ]

    def corrected_messages(self, extractor: Extractor) -> list[CorrectedMessage]:
        """Corrections grouped by message (newest value per field wins), with predictions."""
        grouped: dict[str, tuple[Correction, dict[str, str | int | None]]] = {}
        for c in self.corrections():
            first, values = grouped.setdefault(c.text, (c, {}))
            values[c.field] = c.value
        out: list[CorrectedMessage] = []
        for first, values in grouped.values():
            result = extractor.extract(first.text, first.lang, first.sent_at)
            out.append(
                CorrectedMessage(
                    text=first.text,
                    lang=first.lang or result.lang,
                    sent_at=first.sent_at,
                    values=values,
                    predicted=result.values(),
                )
            )
        return out


def _utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; PostgreSQL in the session's zone. Both are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def retrain(
    store: CorrectionStore,
    *,
    out: Path | None = DEFAULT_RETRAINED_MODEL,
    n: int = DEFAULT_SIZE,
    seed: int = DEFAULT_SEED,
    extractor: Extractor | None = None,
) -> TrainReport:
    """Train on the synthetic corpus plus every stored correction; write to `out`."""
    current = extractor or Extractor()
    return train(n=n, seed=seed, corrections=store.corrected_messages(current), out=out)
