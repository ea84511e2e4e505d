"""The rights of the person and the records that prove them (issue 6, items 4-5).

Subject access and portability exports, erasure propagated to every connected CRM with
a certificate, objection to profiling, the suppression list that keeps an erased person
from being re-imported, the record of processing activities and retention.
`receipts` is a leaf module (pydantic and `core` only) that connectors import.
"""
