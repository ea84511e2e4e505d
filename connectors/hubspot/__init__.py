"""HubSpot connector on the official hubspot-api-client, routed through leadbridge's HTTP layer.

>>> from leadbridge.connectors.hubspot import HubSpotConnector
>>> connector = HubSpotConnector.from_mapping(  # doctest: +SKIP
...     {"auth": {"kind": "private_app", "token": "pat-na1-…"}}
... )
"""

from leadbridge.connectors.hubspot.config import (
    HubSpotConfig,
    OAuthConfig,
    PrivateAppAuth,
    parse_config,
)
from leadbridge.connectors.hubspot.connector import STREAMS, HubSpotConnector
from leadbridge.connectors.hubspot.writeback import SCORE_FIELDS

__all__ = [
    "SCORE_FIELDS",
    "STREAMS",
    "HubSpotConfig",
    "HubSpotConnector",
    "OAuthConfig",
    "PrivateAppAuth",
    "parse_config",
]
