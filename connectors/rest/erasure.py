"""Erasure on a profile-declared REST CRM: ``DELETE`` on the profile's record path.

A profile names one record's URL in ``[write].path`` (``/leads/{lead_id}`` for BOMA);
erasure sends ``DELETE`` to that same URL for each record, so any CRM described by a
profile gets erasure without code. The id is URL-quoted into the single placeholder; no
contact data travels in the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from leadbridge.connectors.rest.profile import RestProfile
from leadbridge.connectors.rest.records import placeholders
from leadbridge.core.errors import APIError, ConfigError
from leadbridge.core.http import HttpClient
from leadbridge.core.receipts import (
    ErasureReceipt,
    ObjectErasure,
    deleted,
    failed_or_absent,
    now,
)

__all__ = ["delete_records", "record_path"]


def record_path(profile: RestProfile) -> str:
    """The one-record URL template erasure deletes (``[write].path``)."""
    path = profile.write.path if profile.write is not None else None
    if path is None:
        raise ConfigError(
            f"profile {profile.crm.name!r} declares no one-record path ([write].path) to delete",
            key="write.path",
        )
    return path


def delete_records(
    http: HttpClient, profile: RestProfile, source_ids: Sequence[str]
) -> ErasureReceipt:
    """``DELETE`` each record; a 404/410 means it is already gone, any other error fails it."""
    template = record_path(profile)
    slot = "{" + placeholders(template)[0] + "}"
    started = now()
    objects: list[ObjectErasure] = []
    for source_id in dict.fromkeys(source_ids):
        url = template.replace(slot, quote(source_id, safe=""))
        try:
            response = http.send("DELETE", url, category="write", parse=False)
        except APIError as exc:
            objects.append(failed_or_absent(source_id, exc))
            continue
        objects.append(deleted(source_id, response))
    return ErasureReceipt(
        system=profile.crm.name,
        action=f"DELETE {template}",
        permanent=True,
        objects=tuple(objects),
        started_at=started,
        finished_at=now(),
    )
