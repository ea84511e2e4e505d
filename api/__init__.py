"""The OAuth-protected HTTP API (issue 6, item 3): audit log, exports, privacy requests."""
