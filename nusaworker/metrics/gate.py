"""A pacing gate that times every turn and counts every hit, wrapped around the real one.

The wait is measured from the call to ``acquire`` to "write now" — what the hit spent at the
gate, queueing behind other workers' turns included; one observation per turn handed out (made
once the turn is reported, so that no metrics write sits between "write now" and the wire), so
the histogram's count is the turns. A hit is counted when its turn is reported written (the
request went out: the provider received it), not when it is cancelled (nothing was written).

The gate knows an account by its pacing fingerprint (``nusasms:<hash of the credential>``); the
metrics name it as the settings do, through ``names`` (fingerprint → account name), which the
container fills as it builds the clients. A fingerprint not named there is labelled as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from nusaworker.metrics.instruments import GATE_WAIT, HITS
from nusaworker.providers.gate import Gate
from nusaworker.types import OnGrant, Priority, Turn

__all__ = ["MeteredGate"]


class _CountedTurn:
    """The inner turn, reported first; the metrics are written after the report, off the path
    from "write now" to the wire and from the report to the account's next turn."""

    __slots__ = ("_account", "_inner", "_priority", "_waited")

    def __init__(self, inner: Turn, account: str, priority: str, waited: float) -> None:
        self._inner = inner
        self._account = account
        self._priority = priority
        self._waited = waited

    def written(self) -> None:
        self._inner.written()
        if self._observe():
            HITS.labels(self._account).inc()

    def cancel(self) -> None:
        self._inner.cancel()
        self._observe()

    def _observe(self) -> bool:
        """Observe the wait once (a turn may be reported twice; later reports do nothing)."""
        if self._waited < 0:
            return False
        GATE_WAIT.labels(self._account, self._priority).observe(self._waited)
        self._waited = -1.0
        return True


class MeteredGate:
    """A :class:`Gate` that observes :data:`GATE_WAIT` and :data:`HITS` around ``inner``."""

    def __init__(
        self,
        inner: Gate,
        *,
        names: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.inner = inner
        self.names = names if names is not None else {}
        self._clock = clock

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        started = self._clock()
        turn = self.inner.acquire(account, priority=priority, on_grant=on_grant)
        waited = self._clock() - started
        return _CountedTurn(turn, self.names.get(account, account), priority, waited)

    def penalize(self, account: str, seconds: float) -> None:
        self.inner.penalize(account, seconds)
