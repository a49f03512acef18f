"""The beat entries of delivery tracking (merged into ``beat_schedule`` by
``nusaworker/celery.py``).

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
# Re-enqueue records whose task was lost (nusaworker.tracking.orphans): such a record is sent
# again within orphan_after_s plus one period.
ORPHANS_PERIOD_S = 5.0
EXPIRE_PERIOD_S = 60.0  # expire records past the horizon that no poll reached
PARKED_PERIOD_S = 30.0  # apply parked pushes whose record exists by now
# Enqueue the retries the ledger holds once due, expire what outlived its validity
# (nusaworker.tracking.release): a retry is late by at most one tick.
RELEASE_TICK_S = 1.0
# Resolve what dead workers held (nusaworker.ledger.recovery): a worker is known dead once its
# heartbeat key expires (heartbeat_ttl_s), and its messages move within one period of that.
DEAD_WORKERS_PERIOD_S = 2.0

# Send the fallback SMS of messages not delivered in time (nusaworker.tracking.fallback): late
# by at most one period.
FALLBACK_PERIOD_S = 5.0

# Per-run lock TTLs: longer than any sane run, short enough that a crashed run is soon forgotten.
DISPATCH_LOCK_TTL_S = 30.0
HOUSEKEEPING_LOCK_TTL_S = 300.0
# A run takes a few round trips per dead worker; if the worker running it is killed, its lock
# must not hold the next runs back for long: recovery is what the fleet waits for.
DEAD_WORKERS_LOCK_TTL_S = 15.0

SCHEDULE: dict[str, dict[str, Any]] = {
    "tracking.release-due": {
        "task": "nusaworker.housekeeping.release_due",
        "schedule": RELEASE_TICK_S,
        "options": {"expires": 2 * RELEASE_TICK_S, "priority": 0},
    },
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
    "tracking.orphans": {
        "task": "nusaworker.housekeeping.orphans",
        "schedule": ORPHANS_PERIOD_S,
        "options": {"expires": ORPHANS_PERIOD_S},
    },
    "tracking.expire": {
        "task": "nusaworker.housekeeping.expire",
        "schedule": EXPIRE_PERIOD_S,
        "options": {"expires": EXPIRE_PERIOD_S},
    },
    "tracking.dead-workers": {
        "task": "nusaworker.housekeeping.dead_workers",
        "schedule": DEAD_WORKERS_PERIOD_S,
        "options": {"expires": 2 * DEAD_WORKERS_PERIOD_S, "priority": 0},
    },
    "tracking.fallbacks": {
        "task": "nusaworker.housekeeping.fallbacks",
        "schedule": FALLBACK_PERIOD_S,
        "options": {"expires": FALLBACK_PERIOD_S},
    },
    "tracking.sweep-parked": {
        "task": "nusaworker.housekeeping.sweep_parked",
        "schedule": PARKED_PERIOD_S,
        "options": {"expires": PARKED_PERIOD_S},
    },
}
