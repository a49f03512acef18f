"""Fencing: the last check between a pacing slot and the provider hit.

A worker that holds a message's claim token marks the hit as started once the gate grants its
slot — while it waits the few milliseconds until the slot starts, before the request is written
(``Ledger.begin_hit``). If another worker took the message over meanwhile (the first one looked
dead), the token no longer matches and the hit is not made. The provider client knows nothing
of this: it only sees a :class:`Gate`. The task sets the fence for the message it is sending in
a context variable (one per thread).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from nusaworker.providers.gate import Gate
from nusaworker.types import OnGrant, Priority, Turn

# Called after each granted slot; raises (the ledger's ``Fenced``) when the hit must not be made.
Fence = Callable[[], None]

_current_fence: ContextVar[Fence | None] = ContextVar("nusaworker_fence", default=None)


@contextlib.contextmanager
def fenced(fence: Fence) -> Iterator[None]:
    """Run the block with ``fence`` checked after every slot the gate grants."""
    token = _current_fence.set(fence)
    try:
        yield
    finally:
        _current_fence.reset(token)


def _both(first: OnGrant, second: OnGrant) -> OnGrant:
    def run() -> None:
        first()
        second()

    return run


class FencedGate:
    """A :class:`Gate` that checks the current fence after each granted slot."""

    def __init__(self, inner: Gate) -> None:
        self.inner = inner

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        fence = _current_fence.get()
        hook = on_grant
        if fence is not None:
            hook = fence if on_grant is None else _both(fence, on_grant)
        # The fence (a Redis round trip) runs while the slot is awaited, not after "fire now".
        return self.inner.acquire(account, priority=priority, on_grant=hook)

    def penalize(self, account: str, seconds: float) -> None:
        self.inner.penalize(account, seconds)
