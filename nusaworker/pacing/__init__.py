"""Fleet-wide pacing: at most one provider hit per ``min_interval_ms`` per account.

Two implementations of :class:`nusaworker.providers.gate.Gate` on a Redis shared by the whole
fleet (Lua scripts in ``lua/``, the Redis server's clock):

* :class:`CausalGate` (:mod:`.causal`, the default): a hit leaves only once the previous one was
  reported written, and the interval is counted from that report — exact under any pool and
  any CPU load.
* :class:`RedisGate` (:mod:`.gate`, ``pacing_gate="slots"``): the previous gate, slots handed
  out on the clock; kept to be measured side by side. :mod:`.timing` holds its time arithmetic,
  :mod:`.harness` measures it under many processes and threads.

In a worker process: build one gate, call ``gate.warm_up(threads)`` once at start, and put any
check that must run between the grant and the hit into ``acquire(..., on_grant=check)``.
"""

from nusaworker.pacing.causal import CausalGate, CausalStats
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
    "CausalGate",
    "CausalStats",
    "GateStats",
    "RedisGate",
    "gate_client",
]
