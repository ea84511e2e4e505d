"""A Salesforce org emulator: REST query/sObjects/Collections, Tooling, Bulk 2.0, OAuth."""

from leadbridge.emulators.salesforce.config import SalesforceFaults, SalesforceLimits
from leadbridge.emulators.salesforce.emulator import SalesforceEmulator
from leadbridge.emulators.salesforce.generator import generate_salesforce, mutate_org
from leadbridge.emulators.salesforce.org import Org

__all__ = [
    "Org",
    "SalesforceEmulator",
    "SalesforceFaults",
    "SalesforceLimits",
    "generate_salesforce",
    "mutate_org",
]
