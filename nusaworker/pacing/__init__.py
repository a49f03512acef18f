"""Fleet-wide pacing: at most one provider hit per ``min_interval_ms`` per account.

:class:`RedisGate` implements :class:`nusaworker.providers.gate.Gate` on a Redis shared by the
whole fleet (Lua scripts in ``lua/``, the Redis server's clock). :mod:`.timing` holds the pure
time arithmetic and the reasoning behind the safety margin; :mod:`.harness` measures a gate
under many processes and threads.

In a worker process: build one gate (``RedisGate(url, min_interval_ms=...)``), call
``gate.warm_up(threads)`` once at start, and put any check that must run between the grant
and the hit into ``acquire_slot(..., on_grant=check)`` rather than after ``acquire``.
"""

from nusaworker.pacing.gate import (
    DEFAULT_LATE_TOLERANCE_MS,
    DEFAULT_SAFETY_MARGIN_MS,
    GateStats,
    RedisGate,
    gate_client,
)
from nusaworker.pacing.slots import Acquisition
from nusaworker.pacing.timing import DEFAULT_HORIZONS

__all__ = [
    "DEFAULT_HORIZONS",
    "DEFAULT_LATE_TOLERANCE_MS",
    "DEFAULT_SAFETY_MARGIN_MS",
    "Acquisition",
    "GateStats",
    "RedisGate",
    "gate_client",
]
