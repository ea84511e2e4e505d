"""The tamper-evident audit log (issue 6): hash chain, signed checkpoints, crypto-shredding.

>>> from leadbridge.audit import AuditLog, AuditKeys, verify  # doctest: +SKIP
"""

from __future__ import annotations

from leadbridge.audit.checkpoint import Checkpoint, CheckpointExport
from leadbridge.audit.keys import AuditKeys, VerifierKey
from leadbridge.audit.log import (
    AuditEntry,
    AuditLog,
    ErasureResult,
    SubjectExport,
    open_audit_log,
)
from leadbridge.audit.verifier import Problem, VerifyReport, verify, verify_rows

__all__ = [
    "AuditEntry",
    "AuditKeys",
    "AuditLog",
    "Checkpoint",
    "CheckpointExport",
    "ErasureResult",
    "Problem",
    "SubjectExport",
    "VerifierKey",
    "VerifyReport",
    "open_audit_log",
    "verify",
    "verify_rows",
]
