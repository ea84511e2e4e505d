"""Entity extraction from lead messages into CRM fields (seed 001)."""
