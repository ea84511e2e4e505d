"""A local BOMA emulator (the mortgage-broker CRM of seeds 000 and 001): real HTTP on 127.0.0.1."""

from leadbridge.emulators.boma.config import BomaFaults, BomaLimits
from leadbridge.emulators.boma.emulator import BomaEmulator
from leadbridge.emulators.boma.generator import add_same_timestamp, generate_boma, mutate_boma
from leadbridge.emulators.boma.store import CUSTOM_FIELDS, DOSSIER_STATUSES, BomaStore

__all__ = [
    "CUSTOM_FIELDS",
    "DOSSIER_STATUSES",
    "BomaEmulator",
    "BomaFaults",
    "BomaLimits",
    "BomaStore",
    "add_same_timestamp",
    "generate_boma",
    "mutate_boma",
]
