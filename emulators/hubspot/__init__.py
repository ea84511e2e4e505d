"""A local HubSpot emulator: real HTTP on 127.0.0.1, faithful shapes, limits and faults."""

from leadbridge.emulators.hubspot.config import HubSpotFaults, HubSpotLimits
from leadbridge.emulators.hubspot.emulator import HubSpotEmulator
from leadbridge.emulators.hubspot.generator import generate_portal
from leadbridge.emulators.hubspot.portal import Portal

__all__ = ["HubSpotEmulator", "HubSpotFaults", "HubSpotLimits", "Portal", "generate_portal"]
