"""A wall clock a test moves by hand (the ledger's ``clock``: epoch seconds)."""

from __future__ import annotations

# An arbitrary fixed epoch (2023-11-14): far from now, so no real timestamp is mistaken for it.
T0 = 1_700_000_000.0


class FakeClock:
    """Returns ``now``; the test sets or advances it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds
