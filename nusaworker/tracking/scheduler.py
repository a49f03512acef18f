"""celery-redbeat's scheduler, made to outlive a Redis restart.

RedBeat extends its beat lock at every tick; when Redis is unreachable for a moment that call
raises, and the exception ends the beat process — every beat of the fleet at once, since they
all share the one Redis. Here a tick that cannot reach Redis is skipped and tried again a
moment later. Losing the lock is still fatal, on purpose: if Redis stayed away longer than the
lock timeout another beat may hold it now, and two beats must never run the schedule.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redbeat import RedBeatScheduler as _RedBeatScheduler

log = logging.getLogger(__name__)

# How soon a tick that could not reach Redis is tried again.
RETRY_TICK_S = 1.0


class RedBeatScheduler(_RedBeatScheduler):
    """``beat_scheduler`` of the fleet (celeryconfig): redbeat, surviving Redis blips."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            return float(super().tick(*args, **kwargs))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("beat: Redis unreachable (%s); next tick in %.0f s", exc, RETRY_TICK_S)
            return RETRY_TICK_S
