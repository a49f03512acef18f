"""The per-run lock of a periodic job, and the counters that show it ran.

Beat runs highly available (celery-redbeat: one active beat, the others wait on its lock), so
each job is normally sent once per period. The lock in the job itself is the second fence: a
copy of a job that is sent again anyway — a beat failing over mid-period, a task redelivered
after its worker died, an operator triggering it by hand — finds the lock taken and skips.
The lock is ``SET NX PX`` with a random token, released by the holder only (``lua/unlock.lua``);
its TTL bounds how long a crashed run can hold it.

``<job>:runs`` and ``<job>:skipped`` in :meth:`Keys.job_stats` count what happened, and
``<job>:last_run`` says when the job last ran: a monitoring check reads them.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis

from nusaworker.keys import Keys
from nusaworker.redis_scripts import lua


class JobLocks:
    """Per-run locks and run counters of periodic jobs under one key prefix."""

    def __init__(
        self, redis_client: redis.Redis, *, keys: Keys, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self._unlock = redis_client.register_script(lua("nusaworker.tracking", "unlock"))

    @contextlib.contextmanager
    def run_once(self, job: str, ttl_s: float) -> Iterator[bool]:
        """Hold the lock of ``job`` for the block: yields ``True``, or ``False`` (skip) if taken.

        ``ttl_s`` must exceed the longest run of the job; the lock is released on exit.
        """
        token = secrets.token_hex(8)
        key = self.keys.job_lock(job)
        acquired = bool(self.redis.set(key, token, nx=True, px=max(1, round(ttl_s * 1000))))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hincrby(self.keys.job_stats, f"{job}:{'runs' if acquired else 'skipped'}", 1)
        if acquired:
            pipe.hset(self.keys.job_stats, f"{job}:last_run", repr(self.clock()))
        pipe.execute()
        try:
            yield acquired
        finally:
            if acquired:
                self._unlock(keys=[key], args=[token])

    def stats(self) -> dict[str, dict[str, float]]:
        """``{job: {"runs": n, "skipped": n, "last_run": t}}`` of every job that ever ran."""
        raw: dict[Any, Any] = self.redis.hgetall(self.keys.job_stats)
        found: dict[str, dict[str, float]] = {}
        for key, value in raw.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            job, _, counter = name.rpartition(":")
            found.setdefault(job, {})[counter] = float(value)
        return found
