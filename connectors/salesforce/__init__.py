"""Salesforce connector on simple-salesforce, routed through leadbridge's HTTP layer.

>>> from leadbridge.connectors.salesforce import from_settings
>>> connector = from_settings({  # doctest: +SKIP
...     "instance_url": "https://acme.my.salesforce.com",
...     "auth": {"kind": "jwt_bearer", "client_id": "3MVG9…", "username": "api@acme.ch",
...              "private_key_file": "/etc/leadbridge/salesforce.key"}})
"""

from leadbridge.connectors.salesforce.config import (
    JWTBearer,
    OAuthWebServer,
    SalesforceConfig,
    parse_config,
)
from leadbridge.connectors.salesforce.connector import STREAMS, SalesforceConnector, from_settings

__all__ = [
    "STREAMS",
    "JWTBearer",
    "OAuthWebServer",
    "SalesforceConfig",
    "SalesforceConnector",
    "from_settings",
    "parse_config",
]
