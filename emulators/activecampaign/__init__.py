"""A local ActiveCampaign API v3 emulator: contacts, custom fields, activity, bulk import.

>>> from leadbridge.emulators.activecampaign import (  # doctest: +SKIP
...     ActiveCampaignEmulator, generate_activecampaign)
>>> with ActiveCampaignEmulator(generate_activecampaign(200)) as ac:  # doctest: +SKIP
...     print(ac.api_url)
"""

from leadbridge.emulators.activecampaign.account import Account
from leadbridge.emulators.activecampaign.config import ActiveCampaignFaults, ActiveCampaignLimits
from leadbridge.emulators.activecampaign.emulator import DEFAULT_API_KEY, ActiveCampaignEmulator
from leadbridge.emulators.activecampaign.generator import (
    FIELDS,
    SITE,
    generate_activecampaign,
    mutate_account,
)

__all__ = [
    "DEFAULT_API_KEY",
    "FIELDS",
    "SITE",
    "Account",
    "ActiveCampaignEmulator",
    "ActiveCampaignFaults",
    "ActiveCampaignLimits",
    "generate_activecampaign",
    "mutate_account",
]
