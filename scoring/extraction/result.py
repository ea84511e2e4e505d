"""Result: the typed outcome of an extraction and its CRM shape.

Every field carries its value, a confidence in [0, 1] and the span of the message it
came from, so a broker (or an auditor) can see *why* the CRM says 250 000. The CRM
payload follows seed 001's BOMA example (``lead_source``, ``message_body``,
``extracted_data``, ``ai_score``, ``routing_action``) and writes "to verify" instead
of any value below the confidence threshold.

    >>> f = ExtractedField(value=250000, confidence=0.97, span=(10, 17), text="250'000")
    >>> Extraction(text="x", fields={"requested_amount": f}).to_crm_fields()["extracted_data"]
    {'requested_amount': 250000}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.scoring.extraction.quality import DEFAULT_THRESHOLD, QualityScore, quality_score

__all__ = ["FIELDS", "TO_VERIFY", "ExtractedField", "Extraction"]

FIELDS: tuple[str, ...] = (
    "requested_amount",
    "property_value",
    "down_payment",
    "currency",
    "job_status",
    "property_type",
    "energy_class",
    "loan_purpose",
    "target_month",
    "ltv",
)
"""Every field extraction can produce, in output order."""

TO_VERIFY = "to verify"


class ExtractedField(BaseModel):
    """One extracted fact: normalised value, confidence and source span in the message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: int | float | str
    confidence: float = Field(ge=0.0, le=1.0)
    span: tuple[int, int] | None = None
    text: str = ""


class Extraction(BaseModel):
    """What one message yielded: fields, language, warnings and the quality score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    lang: str | None = None
    fields: Mapping[str, ExtractedField] = Field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    quality: QualityScore = Field(
        default_factory=lambda: quality_score({}),
    )

    def values(self) -> dict[str, int | float | str]:
        """Field name -> value, whatever the confidence."""
        return {name: f.value for name, f in self.fields.items()}

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON line: fields with value/confidence/span, absent ones omitted."""
        return {
            "lang": self.lang,
            "fields": {
                name: {
                    "value": f.value,
                    "confidence": round(f.confidence, 4),
                    "span": list(f.span) if f.span else None,
                    "text": f.text,
                }
                for name, f in self.fields.items()
            },
            "quality": self.quality.model_dump(mode="json"),
            "warnings": list(self.warnings),
        }

    def to_crm_fields(
        self, threshold: float = DEFAULT_THRESHOLD, *, lead_source: str = "api"
    ) -> dict[str, Any]:
        """The BOMA payload of seed 001; fields below `threshold` read "to verify"."""
        quality = (
            self.quality
            if threshold == DEFAULT_THRESHOLD
            else quality_score(
                {n: (f.value, f.confidence) for n, f in self.fields.items()}, threshold=threshold
            )
        )
        extracted: dict[str, int | float | str] = {
            name: f.value if f.confidence >= threshold else TO_VERIFY
            for name, f in self.fields.items()
        }
        return {
            "lead_source": lead_source,
            "message_body": self.text,
            "extracted_data": extracted,
            "ai_score": quality.score,
            "routing_action": quality.routing,
        }
