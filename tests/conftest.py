"""Shared fixtures: nothing here patches leadbridge code; servers are real, on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest

from leadbridge.core.redaction import install_log_redaction


@pytest.fixture(autouse=True, scope="session")
def _redact_logs() -> None:
    install_log_redaction()
    logging.getLogger("leadbridge").setLevel(logging.DEBUG)
