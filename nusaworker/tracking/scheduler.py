"""celery-redbeat's scheduler, made to outlive a Redis restart.

RedBeat extends its beat lock at every tick; when Redis is unreachable for a moment that call
raises, and the exception ends the beat process — every beat of the fleet at once, since they
all share the one Redis. Here a tick that cannot reach Redis is skipped and tried again a
moment later. Losing the lock is still fatal, on purpose: if Redis stayed away longer than the
lock timeout another beat may hold it now, and two beats must never run the schedule.

Each tick that ran also rewrites beat's heartbeat (:meth:`Leases.beat_tick`), which
``nusaworker check`` reads: only the beat holding the lock ticks, so the key says "the fleet's
schedule is being run", not merely "a beat process exists".
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redbeat import RedBeatScheduler as _RedBeatScheduler
from redbeat.schedulers import get_redis

from nusaworker.keys import DEFAULT_PREFIX, Keys
from nusaworker.ledger.leases import Leases

log = logging.getLogger(__name__)

# How soon a tick that could not reach Redis is tried again.
RETRY_TICK_S = 1.0


class RedBeatScheduler(_RedBeatScheduler):
    """``beat_scheduler`` of the fleet (celeryconfig): redbeat, surviving Redis blips, and
    writing beat's heartbeat (:meth:`Leases.beat_tick`) at every tick."""

    _heartbeat: Leases | None = None

    def _leases(self) -> Leases:
        if self._heartbeat is None:
            # redbeat's own connection, and the fleet's key prefix from the app's conf
            # (nusaworker.celery.make_app sets both from the settings).
            prefix = self.app.conf.get("nusaworker_key_prefix") or DEFAULT_PREFIX
            self._heartbeat = Leases(get_redis(self.app), keys=Keys(prefix=prefix))
        return self._heartbeat

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            next_tick = float(super().tick(*args, **kwargs))
            # Only the beat holding the lock ticks: this is the fleet's "beat is alive".
            self._leases().beat_tick()
            return next_tick
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("beat: Redis unreachable (%s); next tick in %.0f s", exc, RETRY_TICK_S)
            return RETRY_TICK_S
