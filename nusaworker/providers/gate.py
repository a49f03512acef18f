"""The pacing contract a provider client calls before every HTTP hit.

The client knows nothing of Redis: it is handed an object with this shape. The fleet-wide,
Redis-backed implementation lives in :mod:`nusaworker.pacing`; a client used on its own gets
:class:`NoopGate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

Priority = Literal["otp", "normal", "bulk"]

# Called once a slot is granted, before the caller waits for it (e.g. the ledger's fence).
OnGrant = Callable[[], None]


@runtime_checkable
class Gate(Protocol):
    """Hands out the right to make one HTTP hit for an account."""

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> None:
        """Block until this process may fire one hit for ``account``, then return.

        ``account`` is a non-secret fingerprint of the credentials (never the key itself).
        Returning means "fire now": an implementation that wakes too late for its slot must
        take a new one rather than fire into the next holder's slot. ``on_grant`` runs when a
        slot is granted and before waiting for it, so that whatever it costs stays off the
        path between "fire now" and the request; an exception from it aborts the acquisition.
        Raises :class:`nusaworker.errors.GateUnavailable` when no slot can be had (fail closed).
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
    ) -> None:
        if on_grant is not None:
            on_grant()

    def penalize(self, account: str, seconds: float) -> None:
        return None
