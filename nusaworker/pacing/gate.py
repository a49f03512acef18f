"""The previous, clock-based pacing gate ("slots"): one Redis key per account, two Lua scripts.

Kept to be measured side by side with the causal gate (:mod:`nusaworker.pacing.causal`, the
default) and selectable with ``NUSAWORKER_PACING_GATE=slots``. Its weakness, and the reason
for the causal gate: a worker descheduled between its last lateness check and its write fires
late while its successor fires on time, and the gap between them narrows below the interval.

Every worker of every machine asks the same Redis for its slots (``lua/reserve.lua``), and
Redis uses its own clock (``TIME``), so consecutive hits of one account are at least
``min_interval_ms + safety_margin_ms`` apart on that clock, whatever the number of processes.
One round trip per question; a refused caller sleeps for a time computed from the answer.
How the gap is carried from the server's clock to the moment the hit is fired is explained in
:mod:`nusaworker.pacing.timing`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import redis

from nusaworker.connections import AnyRedisURL, redis_client
from nusaworker.errors import ConfigurationError, GateUnavailable
from nusaworker.keys import PACE_TTL_S, Keys
from nusaworker.pacing.clocksync import ClockSync
from nusaworker.pacing.slots import Acquisition, take_slot
from nusaworker.pacing.timing import DEFAULT_HORIZONS, Reply, horizon_us
from nusaworker.types import NULL_TURN, OnGrant, Priority, Turn

# Chosen by measurement with nusaworker.bench.pacing_harness on the project's 2-core box (3 and 6
# processes x 4 threads, 10 s each, with and without a busy loop per core). 2 ms: 96 % of the
# provider's 20 hits/s on a quiet box, 94.5 % with both cores saturated, zero gaps below
# 50 ms in either. 1.5 ms (tolerance 0.75): 96 % but one gap of 49.3-49.7 ms per 10 s under
# load, each from a thread descheduled ~1.6 ms after the gate's last check — beyond what the
# 0.75 ms left by the tolerance covers. 2.5 ms: no gain in safety seen, 93.6 % under load.
DEFAULT_SAFETY_MARGIN_MS = 2.0
# Must not exceed the margin (see nusaworker.pacing.timing). The lateness bound is the
# oversleep (~0.05 ms) plus the clock-offset uncertainty (~0.2 ms): measured p99 0.5 ms on a
# quiet box, so 1 ms rarely abandons a slot there. The other 1 ms of the margin covers the
# caller between the gate's check and its request leaving (measured p99 0.1 ms, max 0.25 ms).
DEFAULT_LATE_TOLERANCE_MS = 1.0
# Refused callers come back spread over a tenth of a slot, so they do not all ask at once.
REFUSAL_JITTER_SLOTS = 0.1
# A Redis that takes longer than this to answer one EVALSHA is not fit to pace 50 ms slots.
DEFAULT_SOCKET_TIMEOUT_S = 0.5

# A handful of TIME round trips pins the clock offset to about the fastest of them.
WARM_UP_TIME_SAMPLES = 8

_LUA_DIR = Path(__file__).parent / "lua"


def gate_client(url: AnyRedisURL, *, timeout_s: float = DEFAULT_SOCKET_TIMEOUT_S) -> redis.Redis:
    """A Redis client fit for the gate (:mod:`nusaworker.connections`, role ``gate``): short
    timeouts and a single immediate retry, so that a dead Redis fails the gate closed."""
    return redis_client(url, "gate", timeout_s=timeout_s)


def probe_time(client: redis.Redis, clock_sync: ClockSync, clock: Callable[[], float]) -> None:
    """One ``TIME`` round trip, taken into ``clock_sync`` (the faster, the narrower the bounds).
    Raises redis-py's errors."""
    sent_at = clock()
    seconds, micros = client.time()
    clock_sync.observe(seconds * 1_000_000 + micros, sent_at, clock())


class GateStats:
    """Counters of one gate object (this process's view); safe to update from many threads.

    Recording an acquisition is a single ``deque.append`` (atomic, no lock): it happens
    between the gate's last lateness check and the caller's hit, where a thread waiting for a
    lock held by a descheduled thread would fire late. The counters are summed when read.
    """

    _FIELDS = (
        "acquisitions",
        "refusals",
        "late_reacquires",
        "given_back",
        "total_wait_s",
        "penalties",
        "unavailable",
    )

    def __init__(self) -> None:
        self._pending: deque[Acquisition] = deque()
        self._totals: dict[str, float] = dict.fromkeys(self._FIELDS, 0)
        self._lock = threading.Lock()

    def record(self, acquisition: Acquisition) -> None:
        """Add one finished acquisition."""
        self._pending.append(acquisition)

    def count(self, counter: str) -> None:
        """Add one to ``penalties`` or ``unavailable``."""
        with self._lock:
            self._totals[counter] += 1

    def snapshot(self) -> dict[str, float]:
        """The counters as a plain dict: acquisitions, refusals, late_reacquires,
        given_back, total_wait_s, penalties, unavailable."""
        with self._lock:
            while self._pending:
                acquisition = self._pending.popleft()
                self._totals["acquisitions"] += 1
                self._totals["refusals"] += acquisition.refusals
                self._totals["late_reacquires"] += acquisition.late_reacquires
                self._totals["given_back"] += acquisition.given_back
                self._totals["total_wait_s"] += acquisition.waited_s
            return dict(self._totals)

    @property
    def acquisitions(self) -> int:
        """Acquisitions that returned (hits allowed)."""
        return int(self.snapshot()["acquisitions"])

    @property
    def refusals(self) -> int:
        """Times the script refused a caller because the tail was beyond its horizon."""
        return int(self.snapshot()["refusals"])

    @property
    def late_reacquires(self) -> int:
        """Granted slots abandoned because the caller woke up too late to fire in them."""
        return int(self.snapshot()["late_reacquires"])

    @property
    def given_back(self) -> int:
        """Late slots given back because nobody had reserved after them yet (not wasted)."""
        return int(self.snapshot()["given_back"])

    @property
    def total_wait_s(self) -> float:
        """Time spent waiting in the gate, summed over all acquisitions."""
        return self.snapshot()["total_wait_s"]

    @property
    def penalties(self) -> int:
        """Calls of :meth:`RedisGate.penalize` that reached Redis."""
        return int(self.snapshot()["penalties"])

    @property
    def unavailable(self) -> int:
        """Times Redis did not answer and the gate failed closed."""
        return int(self.snapshot()["unavailable"])


class RedisGate:
    """A :class:`~nusaworker.providers.gate.Gate` shared by the whole fleet through Redis.

    Args:
        redis_client_or_url: a ``redis://`` URL (a client is made with :func:`gate_client`)
            or a ready client, used as given — give it short timeouts, or a dead Redis will
            hold callers for its timeouts and retries before the gate fails closed.
        min_interval_ms: the provider's rule, one hit per this many ms per account.
        safety_margin_ms: added to every interval (jitter between the gate and the provider).
        late_tolerance_ms: how late after its slot started a worker may still fire; at most
            ``safety_margin_ms`` (see :mod:`nusaworker.pacing.timing`).
        horizons: per priority, how many slots ahead of now a caller may reserve; missing
            priorities take :data:`~nusaworker.pacing.timing.DEFAULT_HORIZONS` (bulk 0.5,
            normal 1.5, otp unlimited). ``math.inf`` means never refused.
        keys: key names (the prefix lets tests and benchmarks share a server).
        clock: the local monotonic clock deadlines are kept on.
        sleep: how to sleep (injected for tests).
        rng: a ``[0, 1)`` random source for the refusal jitter.
    """

    def __init__(
        self,
        redis_client_or_url: redis.Redis | AnyRedisURL,
        *,
        min_interval_ms: float = 50.0,
        safety_margin_ms: float = DEFAULT_SAFETY_MARGIN_MS,
        late_tolerance_ms: float = DEFAULT_LATE_TOLERANCE_MS,
        horizons: Mapping[Priority, float] | None = None,
        keys: Keys = Keys(),  # noqa: B008 - frozen dataclass, safe as a default
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not min_interval_ms > 0:
            raise ConfigurationError("min_interval_ms must be positive")
        if not 0 < late_tolerance_ms <= safety_margin_ms:
            raise ConfigurationError(
                "late_tolerance_ms must be positive and at most safety_margin_ms, "
                "or two workers could fire closer than min_interval_ms"
            )
        merged = {**DEFAULT_HORIZONS, **(horizons or {})}
        if any(not slots >= 0 for slots in merged.values()):
            raise ConfigurationError("horizons must be non-negative numbers of slots")
        if isinstance(redis_client_or_url, redis.Redis):
            self._client = redis_client_or_url
        else:
            self._client = gate_client(redis_client_or_url)
        self.min_interval_ms = min_interval_ms
        self.safety_margin_ms = safety_margin_ms
        self.late_tolerance_ms = late_tolerance_ms
        self.horizons: Mapping[Priority, float] = merged
        self.keys = keys
        self.stats = GateStats()
        self._step_us = round((min_interval_ms + safety_margin_ms) * 1000)
        self._ttl_ms = PACE_TTL_S * 1000
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._clock_sync = ClockSync()
        # Loaded once; redis-py sends EVALSHA and reloads the text only if the server lost it.
        self._reserve = self._client.register_script((_LUA_DIR / "reserve.lua").read_text())
        self._penalize = self._client.register_script((_LUA_DIR / "penalize.lua").read_text())

    @property
    def step_s(self) -> float:
        """Distance between two slots: ``min_interval_ms + safety_margin_ms``, in seconds."""
        return self._step_us / 1_000_000

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        """Block until this process may fire one hit for ``account``, then return.

        The turn returned has nothing to report to: slots are handed out on the clock alone.
        Raises :class:`~nusaworker.errors.GateUnavailable` when Redis does not answer.
        """
        self.acquire_slot(account, priority=priority, on_grant=on_grant)
        return NULL_TURN

    def acquire_slot(
        self,
        account: str,
        *,
        priority: Priority = "normal",
        on_grant: Callable[[], None] | None = None,
    ) -> Acquisition:
        """Like :meth:`acquire`, and say what the acquisition took (for benchmarks).

        ``on_grant`` is called after each granted slot, before waiting for it to start (again
        for a fresh slot after a late wake-up). Work that must happen between the grant and the
        hit — a fencing check, say — belongs there: done after ``acquire`` returns, it would
        stand between the gate's last lateness check and the hit, where only the part of the
        margin the tolerance leaves covers it (1 ms by default; one Redis round trip on a busy
        worker can take that). Whatever it raises propagates; the slot then stays unused.
        """
        key = self.keys.pace(account)
        horizon = horizon_us(priority, self.horizons, self._step_us)

        def reserve(release_us: int) -> Reply:
            sent_at = self._clock()
            granted, start, now, wait, tail, released = self._call(
                self._reserve, key, self._step_us, horizon, self._ttl_ms, release_us
            )
            return Reply(
                bool(granted), start, now, wait, tail, bool(released), sent_at, self._clock()
            )

        acquisition = take_slot(
            reserve,
            clock_sync=self._clock_sync,
            clock=self._clock,
            sleep=self._sleep,
            tolerance_s=self.late_tolerance_ms / 1000,
            jitter_s=self.step_s * REFUSAL_JITTER_SLOTS,
            rng=self._rng,
            on_grant=on_grant,
        )
        self.stats.record(acquisition)
        return acquisition

    def penalize(self, account: str, seconds: float) -> None:
        """Push the account's next free slot at least ``seconds`` into the future, fleet-wide.

        A later slot already reserved is kept. Raises
        :class:`~nusaworker.errors.GateUnavailable` when Redis does not answer.
        """
        if not seconds > 0:
            return
        self._call(
            self._penalize, self.keys.pace(account), round(seconds * 1_000_000), self._ttl_ms
        )
        self.stats.count("penalties")

    def warm_up(self, connections: int = 1) -> None:
        """Check that Redis answers, load the scripts, learn its clock, open connections.

        Call it when a worker process starts, with its number of threads. Without it the
        first acquisitions pay for connecting and loading the scripts inside their round trip,
        and with no earlier replies to narrow the clock offset such a slow round trip is too
        uncertain to fire on: the slot is abandoned. Raises
        :class:`~nusaworker.errors.GateUnavailable` if Redis does not answer.
        """
        pool = self._client.connection_pool
        opened: list[Any] = []
        try:
            self._client.ping()
            for script in (self._reserve, self._penalize):
                script.sha = self._client.script_load(script.script)
            for _ in range(WARM_UP_TIME_SAMPLES):
                probe_time(self._client, self._clock_sync, self._clock)
            for _ in range(connections):
                opened.append(pool.get_connection())
        except (redis.RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        finally:
            for connection in opened:
                pool.release(connection)

    def close(self) -> None:
        """Close the Redis connections this gate holds."""
        self._client.close()

    def _call(self, script: Any, key: str, *args: int) -> list[int]:
        try:
            result = script(keys=[key], args=list(args))
        except (redis.RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        return [int(value) for value in result]

    def _unavailable(self, exc: BaseException) -> GateUnavailable:
        self.stats.count("unavailable")
        return unavailable(self._client, exc)


def unavailable(client: redis.Redis, exc: BaseException) -> GateUnavailable:
    """The error a gate raises when its Redis did not answer (host and port only: the URL may
    carry a password)."""
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
    return GateUnavailable(
        f"pacing gate unavailable: Redis at {where} did not answer "
        f"({type(exc).__name__}: {exc}); no hit was made"
    )
