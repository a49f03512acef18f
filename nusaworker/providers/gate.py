"""The pacing contract a provider client calls around every HTTP hit.

The client knows nothing of Redis: it is handed an object with this shape. The fleet-wide,
Redis-backed implementations live in :mod:`nusaworker.pacing`; a client used on its own gets
:class:`NoopGate`.

A hit is bracketed: ``acquire`` returns a :class:`Turn` when the hit may be written, and the
client reports on it once the request is written (``written``) or was never written
(``cancel``). A causal gate hands the next turn out only after that report; a clock-based one
ignores it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

# The shared types live at the bottom layer (the pacing gates implement this protocol without
# importing providers); they are re-exported here for the clients.
from nusaworker.types import NULL_TURN, NullTurn, OnGrant, Priority, Turn

__all__ = ["NULL_TURN", "Gate", "NoopGate", "NullTurn", "OnGrant", "Priority", "Turn"]


@runtime_checkable
class Gate(Protocol):
    """Hands out the right to make one HTTP hit for an account."""

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        """Block until this process may write one hit for ``account``; return its turn.

        ``account`` is a non-secret fingerprint of the credentials (never the key itself).
        Returning means "write now"; the caller then reports on the turn exactly once.
        ``on_grant`` runs when the turn is granted and before waiting for it to start, so that
        whatever it costs stays off the path between "write now" and the request; an exception
        from it gives the turn back and propagates. Raises
        :class:`nusaworker.errors.GateUnavailable` when no turn can be had (fail closed).
        """
        ...

    def penalize(self, account: str, seconds: float) -> None:
        """Push the account's next free slot at least ``seconds`` into the future.

        Called when the provider answered 429, so that the whole fleet backs off, honouring
        ``Retry-After`` when the provider sent one.
        """
        ...


class NoopGate:
    """A gate that never waits: for a client used alone, for one-off scripts and unit tests."""

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        if on_grant is not None:
            on_grant()
        return NULL_TURN

    def penalize(self, account: str, seconds: float) -> None:
        return None
