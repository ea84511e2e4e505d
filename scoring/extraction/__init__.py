"""Entity extraction from lead messages into CRM fields (seed 001).

Leads write in chats, WhatsApp, e-mails and forms; `extract` turns one message into
the facts a broker needs (amounts, currency, job status, property, purpose, timing,
LTV), each with a confidence and its source span, plus a Lead Quality Score and a
routing action. Rules find and normalise candidates, a small model trained here on a
synthetic corpus decides their roles.

    >>> from leadbridge.scoring.extraction import extract
    >>> extract("Bonjour, je suis en CDI").fields["job_status"].value
    'permanent'
"""

from leadbridge.scoring.extraction.extractor import Extractor, default_extractor, extract
from leadbridge.scoring.extraction.quality import DEFAULT_THRESHOLD, QualityScore, quality_score
from leadbridge.scoring.extraction.result import FIELDS, TO_VERIFY, ExtractedField, Extraction

__all__ = [
    "DEFAULT_THRESHOLD",
    "FIELDS",
    "TO_VERIFY",
    "ExtractedField",
    "Extraction",
    "Extractor",
    "QualityScore",
    "default_extractor",
    "extract",
    "quality_score",
]
