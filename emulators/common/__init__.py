"""Pieces every CRM emulator shares: server thread, request ledger, limits, faults."""
