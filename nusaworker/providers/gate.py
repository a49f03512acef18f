"""The pacing contract a provider client calls before every HTTP hit.

The client knows nothing of Redis: it is handed an object with this shape. The fleet-wide,
Redis-backed implementation lives in :mod:`nusaworker.pacing`; a client used on its own gets
:class:`NoopGate`.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

Priority = Literal["otp", "normal", "bulk"]


@runtime_checkable
class Gate(Protocol):
    """Hands out the right to make one HTTP hit for an account."""

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        """Block until this process may fire one hit for ``account``, then return.

        ``account`` is a non-secret fingerprint of the credentials (never the key itself).
        Returning means "fire now": an implementation that wakes too late for its slot must
        take a new one rather than fire into the next holder's slot. Raises
        :class:`nusaworker.errors.GateUnavailable` when no slot can be had (fail closed).
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

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        return None

    def penalize(self, account: str, seconds: float) -> None:
        return None
