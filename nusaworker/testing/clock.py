"""A clock a test moves by hand: the ledger's wall clock, or a gate's monotonic clock and sleep."""

from __future__ import annotations

# An arbitrary fixed epoch (2023-11-14): far from now, so no real timestamp is mistaken for it.
T0 = 1_700_000_000.0

# Every sleep moves the clock at least this much: a loop that sleeps 0 s still makes progress.
MIN_SLEEP_S = 1e-6


class FakeClock:
    """Returns ``now``; the test sets or advances it, or the code under test sleeps on it.

    ``sleeps`` records every ``sleep`` asked for. ``oversleeps`` plays a descheduled process:
    each value is added, once, to the next sleep longer than 1 ms (the scheduler hands the CPU
    back that much late).
    """

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.oversleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """What ``time.sleep`` would do, at once: record the request and move the clock."""
        self.sleeps.append(seconds)
        extra = self.oversleeps.pop(0) if seconds > 0.001 and self.oversleeps else 0.0
        self.now += max(seconds, MIN_SLEEP_S) + extra
