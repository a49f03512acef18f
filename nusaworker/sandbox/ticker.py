"""The status ticker: moves time forward for pushes.

Statuses themselves are computed from the clock whenever they are read; the ticker only
notices each step as it is reached and hands the matching push to the pusher (when a
callback URL is set), so a receiver sees every step ``S, D, R`` (or ``A``/``F``) in order.
"""

from __future__ import annotations

import logging
import threading
import time

from .callbacks import Pusher, status_push
from .state import SandboxState

log = logging.getLogger(__name__)


class StatusTicker:
    """A daemon thread calling :meth:`SandboxState.advance` every ``period_s``."""

    def __init__(self, state: SandboxState, pusher: Pusher, *, period_s: float) -> None:
        self._state = state
        self._pusher = pusher
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-ticker", daemon=True)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and join the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def tick(self) -> int:
        """Advance once; returns the number of pushes queued."""
        url, steps = self._state.advance(time.monotonic())
        if url is None:
            return 0
        for message, index in steps:
            self._pusher.submit(status_push(url, message, index))
        return len(steps)

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            try:
                self.tick()
            except Exception:  # the ticker must outlive any bug in one push
                log.exception("sandbox status ticker failed")
