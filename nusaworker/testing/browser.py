"""A real headless Chromium for the tests of what a person sees (the status page).

Debian's ``chromium`` package (``make browser`` installs it; docs/testing.md). Each call starts
one browser with a profile of its own, loads one URL and quits: ``dump_dom`` returns the DOM
after the page loaded and its scripts ran (``virtual_time_s`` lets its timers run that long
first), ``screenshot`` writes a PNG of the window.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BrowserMissing", "Chromium"]

NAMES = ("chromium", "chromium-browser", "google-chrome")


class BrowserMissing(RuntimeError):
    """Raised when no Chromium is on the PATH (``make browser`` installs Debian's)."""


class Chromium:
    """The Chromium on the PATH, run headless; ``timeout_s`` bounds each run."""

    def __init__(self, *, timeout_s: float = 90.0) -> None:
        found = next((path for name in NAMES if (path := shutil.which(name))), None)
        if found is None:
            raise BrowserMissing(
                "no chromium on the PATH: run `make browser` (apt-get install chromium)"
            )
        self.binary = found
        self.timeout_s = timeout_s

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="nusaworker-chromium-") as profile:
            # --no-sandbox: CI runs as root, where Chromium's own sandbox refuses to start.
            command = [
                self.binary,
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-first-run",
                "--disable-extensions",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *args,
            ]
            return subprocess.run(
                command, capture_output=True, text=True, timeout=self.timeout_s, check=True
            )

    def dump_dom(self, url: str, *, virtual_time_s: float = 0.0) -> str:
        """The serialised DOM of ``url`` once loaded (after ``virtual_time_s`` of its timers)."""
        extra = [f"--virtual-time-budget={int(virtual_time_s * 1000)}"] if virtual_time_s else []
        return self._run(*extra, "--dump-dom", url).stdout

    def screenshot(self, url: str, path: Path, *, width: int = 1280, height: int = 900) -> Path:
        """A PNG of ``url`` in a ``width`` x ``height`` window, written to ``path``."""
        self._run(f"--window-size={width},{height}", f"--screenshot={path}", url)
        return path
