"""Connectors by name: a registry the CLI and the daemon build connections from.

A factory takes the connection's config mapping (plus runtime objects such as a token
persister) and returns a `Connector`; configuration mistakes surface as `ConfigError`
naming the key, never as a validation traceback.

    >>> connector = create_connector("hubspot", {"auth": {"kind": "private_app",  # doctest: +SKIP
    ...                                                   "token": "pat-na1-…"}})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from leadbridge.core.errors import ConfigError
from leadbridge.core.protocols import Connector

__all__ = ["CONNECTORS", "ConnectorFactory", "create_connector", "register_connector"]

ConnectorFactory = Callable[..., Connector]
"""``factory(config_mapping, **runtime) -> Connector``."""

CONNECTORS: dict[str, ConnectorFactory] = {}


def register_connector(name: str, factory: ConnectorFactory) -> None:
    """Make `factory` available as `name` (a later registration replaces an earlier one)."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"invalid connector name {name!r}")
    CONNECTORS[name] = factory


def create_connector(
    name: str, config_mapping: Mapping[str, Any], *, file: str | None = None, **runtime: Any
) -> Connector:
    """Build the connector `name` from its config; unknown names and bad keys are ConfigErrors."""
    factory = CONNECTORS.get(name)
    if factory is None:
        known = ", ".join(sorted(CONNECTORS)) or "none"
        raise ConfigError(
            f"unknown connector {name!r} (known: {known})", file=file, key="connector"
        )
    if not isinstance(config_mapping, Mapping):
        raise ConfigError("connector settings must be a table/mapping", file=file, key=name)
    return factory(config_mapping, file=file, **runtime)


def _hubspot(config_mapping: Mapping[str, Any], **runtime: Any) -> Connector:
    # Imported on first use: the SDK is heavy and not every run talks to HubSpot.
    module = importlib.import_module("leadbridge.connectors.hubspot")
    runtime.pop("known_ids", None)  # HubSpot reports archived records itself
    connector: Connector = module.HubSpotConnector.from_mapping(config_mapping, **runtime)
    return connector


def _salesforce(config_mapping: Mapping[str, Any], **runtime: Any) -> Connector:
    module = importlib.import_module("leadbridge.connectors.salesforce")
    connector: Connector = module.from_settings(config_mapping, **runtime)
    return connector


def _activecampaign(config_mapping: Mapping[str, Any], **runtime: Any) -> Connector:
    module = importlib.import_module("leadbridge.connectors.activecampaign")
    connector: Connector = module.from_settings(config_mapping, **runtime)
    return connector


def _rest(config_mapping: Mapping[str, Any], **runtime: Any) -> Connector:
    module = importlib.import_module("leadbridge.connectors.rest")
    connector: Connector = module.from_settings(config_mapping, **runtime)
    return connector


def _boma(config_mapping: Mapping[str, Any], **runtime: Any) -> Connector:
    module = importlib.import_module("leadbridge.connectors.rest")
    connector: Connector = module.profile_factory("boma")(config_mapping, **runtime)
    return connector


register_connector("hubspot", _hubspot)
register_connector("rest", _rest)
register_connector("boma", _boma)
register_connector("salesforce", _salesforce)
register_connector("activecampaign", _activecampaign)
