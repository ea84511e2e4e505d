"""ActiveCampaign connector on httpx, through leadbridge's one HTTP layer.

>>> from leadbridge.connectors.activecampaign import from_settings
>>> connector = from_settings({"account": "acme", "api_key": "…"})  # doctest: +SKIP
"""

from leadbridge.connectors.activecampaign.config import ActiveCampaignConfig, parse_config
from leadbridge.connectors.activecampaign.connector import (
    CONTACTS,
    STREAMS,
    ActiveCampaignConnector,
    from_settings,
)
from leadbridge.connectors.activecampaign.paging import KeysetPaginator
from leadbridge.connectors.activecampaign.sweep import DELETES

__all__ = [
    "CONTACTS",
    "DELETES",
    "STREAMS",
    "ActiveCampaignConfig",
    "ActiveCampaignConnector",
    "KeysetPaginator",
    "from_settings",
    "parse_config",
]
