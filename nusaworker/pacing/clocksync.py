"""How the Redis server's clock relates to this process's monotonic clock, narrowed reply by reply.

Each answer of the reservation script carries the server's ``TIME``, read somewhere between
the moment we sent the question (``sent_at``) and the moment we had the answer
(``received_at``). So the offset ``server_clock - local_clock`` lies in
``[server_now - received_at, server_now - sent_at]``: as wide as that round trip. On a busy
2-core box a round trip through redis-py takes 0.5-2 ms, mostly spent on *our* side (the GIL,
the scheduler), which alone would eat the whole safety margin.

The offset itself hardly moves, though, so every reply narrows it further, NTP-style: the
bounds are the intersection of all replies' intervals, each widened by the worst drift since it
was taken (:data:`MAX_DRIFT`). A few dozen replies pin the offset to within the fastest
round trip seen, whatever the current reply's round trip was. An interval that no longer
intersects the bounds means a clock was stepped; the bounds then restart from that reply.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

# Two NTP-disciplined clocks drift apart by at most 2 x 500 ppm (the kernel's slew limit);
# on one host CLOCK_REALTIME and CLOCK_MONOTONIC are slewed together and do not drift at all.
MAX_DRIFT = 1e-3
# TIME truncates to whole microseconds.
_RESOLUTION_S = 1e-6


@dataclass(frozen=True)
class OffsetBounds:
    """``server_clock - local_clock`` lies in ``[low, high]`` (seconds)."""

    low: float
    high: float

    @property
    def width(self) -> float:
        """How uncertain the conversion between the two clocks is."""
        return self.high - self.low


def sample(server_now_us: int, sent_at: float, received_at: float) -> OffsetBounds:
    """The offset bounds one reply proves on its own."""
    server_now = server_now_us / 1_000_000
    return OffsetBounds(
        low=server_now - max(received_at, sent_at),
        high=server_now + _RESOLUTION_S - sent_at,
    )


def narrow(
    previous: OffsetBounds, previous_at: float, new: OffsetBounds, new_at: float, drift: float
) -> OffsetBounds:
    """Intersect ``new`` with ``previous`` widened by the drift since ``previous_at``.

    Falls back to ``new`` when the two do not intersect (a clock was stepped).
    """
    slack = drift * abs(new_at - previous_at)
    low = max(previous.low - slack, new.low)
    high = min(previous.high + slack, new.high)
    if low > high:
        return new
    return OffsetBounds(low, high)


class ClockSync:
    """Thread-safe running bounds of the server-minus-local clock offset."""

    def __init__(self, drift: float = MAX_DRIFT) -> None:
        self._drift = drift
        self._bounds = OffsetBounds(-math.inf, math.inf)
        self._at = -math.inf
        self._lock = threading.Lock()

    def observe(self, server_now_us: int, sent_at: float, received_at: float) -> OffsetBounds:
        """Take one reply into account and return the bounds as they now stand."""
        new = sample(server_now_us, sent_at, received_at)
        with self._lock:
            if math.isinf(self._at):
                bounds = new
            else:
                bounds = narrow(self._bounds, self._at, new, received_at, self._drift)
            # Keep the later time as reference: widening is counted from there on.
            self._bounds, self._at = bounds, max(self._at, received_at)
            return bounds

    def current(self, at: float) -> OffsetBounds:
        """The bounds as they stand at local time ``at``, widened by the drift since the last
        reply (infinite before the first)."""
        with self._lock:
            slack = self._drift * max(0.0, at - self._at) if not math.isinf(self._at) else 0.0
            return OffsetBounds(self._bounds.low - slack, self._bounds.high + slack)
