"""The declarative REST connector: any REST CRM described by a TOML profile, no Python.

A profile in ``mappings/`` (``boma``, ``rest_example_pagenum``) or anywhere on disk names
the base URL, the auth flow, the streams with their pagination style and field paths, and
the write-back payload template; the connection settings add the secrets.

>>> from leadbridge.connectors.rest import from_settings
>>> connector = from_settings({"profile": "boma", "client_id": "…",  # doctest: +SKIP
...                            "client_secret": "…"})
"""

from leadbridge.connectors.rest.auth import ClientCredentialsAuth, ClientCredentialsSource
from leadbridge.connectors.rest.connector import RestConnector, from_settings, profile_factory
from leadbridge.connectors.rest.loader import available_profiles, load_profile, parse_profile
from leadbridge.connectors.rest.messages import InboundMessage
from leadbridge.connectors.rest.paging import PAGINATORS, Pager, PageRequest
from leadbridge.connectors.rest.profile import RestProfile
from leadbridge.connectors.rest.settings import RestSettings, parse_settings

__all__ = [
    "PAGINATORS",
    "ClientCredentialsAuth",
    "ClientCredentialsSource",
    "InboundMessage",
    "PageRequest",
    "Pager",
    "RestConnector",
    "RestProfile",
    "RestSettings",
    "available_profiles",
    "from_settings",
    "load_profile",
    "parse_profile",
    "parse_settings",
    "profile_factory",
]
