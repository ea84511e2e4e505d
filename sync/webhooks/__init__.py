"""Inbound webhooks: verified, queued durably, then turned into fresh scores."""
