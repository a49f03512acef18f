"""What delivery needs of a channel's circuit breaker, as a protocol.

Delivery is fleet glue and must not import a feature: the credit feature's
:class:`nusaworker.credit.circuit.Circuit` satisfies :class:`ChannelGuard` structurally, and a
worker passes it in (``deliver(..., circuit=...)``). A test can pass any object with these
members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from nusaworker.ledger.held import HoldOutcome

__all__ = ["ChannelGuard", "Routes", "Via"]

OpeningT = TypeVar("OpeningT")


class ChannelGuard(Protocol[OpeningT]):
    """Pauses a channel when its account is at fault, and holds messages while it is paused.

    ``OpeningT`` is whatever :meth:`open_for` returns; delivery only hands it back to
    :meth:`announce`, after the message is safe.
    """

    @property
    def hold_s(self) -> float:
        """How far ahead a held message's ``retry_at`` lies (the resume usually comes first)."""
        ...

    @property
    def clock(self) -> Callable[[], float]:
        """The guard's clock (unix seconds)."""
        ...

    def is_paused(self, channel: str) -> bool:
        """Whether ``channel`` is paused now."""
        ...

    def hold(self, message_id: str, channel: str, reason: str) -> HoldOutcome:
        """Hold an ``accepted`` record while ``channel`` is paused; what that did."""
        ...

    def open_for(self, channel: str, error: BaseException) -> OpeningT:
        """Pause what ``error`` (met on ``channel``) calls for; announce it later."""
        ...

    def announce(self, opening: OpeningT) -> None:
        """Alert about what :meth:`open_for` paused (if anything)."""
        ...


@dataclass(frozen=True)
class Via:
    """What sends a message: the account (its name in the settings), its provider client and
    its channel guard; ``held``: every account of the route is paused (hold on this one)."""

    account: str | None
    client: Any
    guard: ChannelGuard[Any] | None
    held: bool = False
    provider: str | None = None  # the account's provider family (None: the channel's own)


class Routes(Protocol):
    """Picks the account that sends a message (:class:`nusaworker.failover.RouteBook`)."""

    def via(self, channel: str, priority: str, pinned: str | None = None) -> Via:
        """The account that sends ``channel`` at ``priority`` now; ``pinned``: the account a
        message in doubt was sent by (only it may send it again)."""
        ...

    def error(self, account: str | None, channel: str) -> None:
        """Count a transient error of ``account`` sending ``channel`` towards its failover."""
        ...

    def sent(self, account: str | None, message_id: str, channel: str) -> None:
        """Count a message ``account`` sent towards its delivery speed."""
        ...
