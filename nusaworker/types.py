"""Types every layer shares: a message's priority and the turn of one paced hit.

They live at the bottom so that the provider clients (which report on a turn) and the pacing
gates (which hand turns out) agree on them without knowing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

Priority = Literal["otp", "normal", "bulk"]
PRIORITIES: tuple[Priority, ...] = ("otp", "normal", "bulk")

# Called once a turn is granted, before the caller waits for it (e.g. the ledger's fence).
OnGrant = Callable[[], None]


class Turn(Protocol):
    """The right to write one request, held from ``acquire`` until one report on it."""

    def written(self) -> None:
        """The request was written (or may have been): the next hit may follow, after the
        interval. Never raises: a report that cannot be delivered costs the gate's lease."""
        ...

    def cancel(self) -> None:
        """Nothing of the request was written: the turn passes on at once. Never raises."""
        ...


class NullTurn:
    """A turn with nothing to report to (clock-based and no-op gates)."""

    def written(self) -> None:
        return None

    def cancel(self) -> None:
        return None


NULL_TURN = NullTurn()
