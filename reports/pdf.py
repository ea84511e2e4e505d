"""`--pdf`: print the HTML report with headless Chromium (Debian's `chromium` package).

The report is already a print-ready page (inline SVG, print CSS), so the browser that
renders it on screen is the most faithful printer; no second layout engine to install.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from leadbridge.core.errors import ConfigError, LeadbridgeError

__all__ = ["find_chromium", "print_pdf"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)


def find_chromium() -> str | None:
    """The path of a Chromium-family browser on PATH, if any."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path, *, timeout_s: float = 120.0) -> Path:
    """Print `html` to `pdf`; ConfigError when no browser is installed."""
    browser = find_chromium()
    if browser is None:
        raise ConfigError("needs Chromium to print (Debian: apt-get install chromium)", key="--pdf")
    with tempfile.TemporaryDirectory(prefix="leadbridge-pdf-") as profile:
        command = [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise LeadbridgeError(f"Chromium did not print within {timeout_s:.0f} s") from exc
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise LeadbridgeError(f"Chromium could not print the report: {tail[0][:200]}")
    return pdf
