"""The beat entries of delivery tracking (merged into ``beat_schedule`` in ``celeryconfig.py``).

Every entry carries ``expires``: a job that could not start within about one period (workers
busy or down) is dropped instead of piling up, since the next period sends a fresh one. The
dispatchers go first in their queue (broker priority 0). Each job also takes a per-run lock
(:mod:`nusaworker.tracking.jobs`) with the TTL given here, so that no copy of it runs twice at
once whatever sent it.
"""

from __future__ import annotations

from typing import Any

# Periods (seconds).
POLL_TICK_S = 1.0  # hand out the polls of one second's budget
EVENTS_TICK_S = 1.0  # hand new events on to the hooks
REPLAY_PERIOD_S = 60.0  # re-enqueue records stuck in accepted (once per period each)
EXPIRE_PERIOD_S = 60.0  # expire records past the horizon that no poll reached
PARKED_PERIOD_S = 30.0  # apply parked pushes whose record exists by now

# Per-run lock TTLs: longer than any sane run, short enough that a crashed run is soon forgotten.
DISPATCH_LOCK_TTL_S = 30.0
HOUSEKEEPING_LOCK_TTL_S = 300.0

SCHEDULE: dict[str, dict[str, Any]] = {
    "tracking.dispatch-polls": {
        "task": "nusaworker.status.dispatch_polls",
        "schedule": POLL_TICK_S,
        "options": {"expires": 2 * POLL_TICK_S, "priority": 0},
    },
    "tracking.dispatch-events": {
        "task": "nusaworker.status.dispatch_events",
        "schedule": EVENTS_TICK_S,
        "options": {"expires": 2 * EVENTS_TICK_S, "priority": 0},
    },
    "tracking.replay": {
        "task": "nusaworker.housekeeping.replay",
        "schedule": REPLAY_PERIOD_S,
        "options": {"expires": REPLAY_PERIOD_S},
    },
    "tracking.expire": {
        "task": "nusaworker.housekeeping.expire",
        "schedule": EXPIRE_PERIOD_S,
        "options": {"expires": EXPIRE_PERIOD_S},
    },
    "tracking.sweep-parked": {
        "task": "nusaworker.housekeeping.sweep_parked",
        "schedule": PARKED_PERIOD_S,
        "options": {"expires": PARKED_PERIOD_S},
    },
}
