"""How long to wait before trying again: the one backoff formula, as pure functions.

Every wait in nusaworker that grows with the attempt number is computed here, each caller with
its own base and cap:

* the provider client's quick retries (:mod:`nusaworker.providers.retry`: 0.5 s, cap 8 s);
* the ledger's long retries (:mod:`nusaworker.retries`: per priority, cap 30 min);
* the outbound event webhook (:mod:`nusaworker.tracking.webhook`);
* the alert webhook sink (:mod:`nusaworker.credit.sinks.webhook`: exponential plus a bounded
  additive jitter, as it always waited);

and the pacing gate's refused callers spread their return with :func:`jittered`.

Full jitter (uniform in ``[0, ceiling]``) rather than a fixed delay: a fleet that failed
together must not retry together. The random source is a parameter, so a test (or a
simulation) gets the same numbers from the same seed. This is a foundation module: it imports
nothing from nusaworker.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Rand", "backoff", "exponential", "jittered"]

Rand = Callable[[], float]
"""A random source returning a float in ``[0, 1)`` (``random.random`` or a seeded one)."""


def exponential(attempt: int, *, base: float, cap: float) -> float:
    """The ceiling of the wait after failed attempt ``attempt`` (1-based): ``base · 2^(n-1)``,
    at most ``cap``. An attempt below 1 counts as 1."""
    try:
        return min(cap, base * (2 ** max(attempt - 1, 0)))
    except OverflowError:
        # Thousands of attempts: the exponential has long passed any cap.
        return cap


def backoff(attempt: int, *, base: float, cap: float, rand: Rand = random.random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based), with full jitter:
    uniform in ``[0, min(cap, base · 2^(n-1))]``."""
    return exponential(attempt, base=base, cap=cap) * rand()


def jittered(delay: float, *, spread: float, unit: float) -> float:
    """``delay`` plus an additive jitter of up to ``spread`` seconds; ``unit`` in ``[0, 1)``
    is the random draw (passed in so the caller chooses and can replay its source)."""
    return delay + spread * unit
