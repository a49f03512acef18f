"""Beat entries of the credit package, merged into the fleet app's ``beat_schedule`` by
``nusaworker/celery.py``.

Beat only ticks; the jobs space their provider calls by their settings (see :mod:`.tasks`).
Each entry expires after one tick: with the workers down, a backlog of stale probes would
otherwise all run at once when they come back.
"""

from __future__ import annotations

from typing import Any

# Task names (defined here, not in .tasks, so that celeryconfig can import this module
# without importing the Celery app).
PROBE_TASK = "nusaworker.housekeeping.probe_breakers"
WATCH_TASK = "nusaworker.housekeeping.balance_watch"

# The probe tick bounds how soon a fixed account resumes: tick + breaker_probe_interval_s.
PROBE_TICK_S = 5.0
# The watch tick bounds how precisely balance_watch_interval_s (default 300 s) is kept.
WATCH_TICK_S = 30.0

SCHEDULE: dict[str, dict[str, Any]] = {
    "credit-probe-breakers": {
        "task": PROBE_TASK,
        "schedule": PROBE_TICK_S,
        "options": {"expires": PROBE_TICK_S},
    },
    "credit-balance-watch": {
        "task": WATCH_TASK,
        "schedule": WATCH_TICK_S,
        "options": {"expires": WATCH_TICK_S},
    },
}
