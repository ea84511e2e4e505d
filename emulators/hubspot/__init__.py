"""A local HubSpot emulator: real HTTP on 127.0.0.1, faithful shapes, limits and faults."""
