"""The causal pacing gate: a hit leaves only after the previous one is known to be written.

Every hit of an account takes the account's *turn* from Redis (``lua/turn.lua``) and reports
it once the request is out (:mod:`nusaworker.providers.paced_http` makes the report when the
last byte is written). Redis hands the next turn out only then, with a start ``not_before =
report + min_interval + margin`` on its own clock (``TIME``); the holder writes once its local
clock says that moment has surely passed on Redis's (converted with bounds that can only make
it late, never early: :mod:`.clocksync`). So for two consecutive hits A, B, in causal order:

    arrival(B) ≥ write(B) ≥ not_before(B) = report(A) + interval > write(A) + interval

whatever the pool, the number of processes or the CPU load: a worker that is descheduled,
paused or slow only widens its *own* gap (its report comes later, and so does the next start);
it can never narrow the next one.

What is left for the margin (``safety_margin_ms``, default :data:`DEFAULT_SAFETY_MARGIN_MS`):
the path to the provider. If hit A travels to the provider slower than B does, by more than
A's report took to reach Redis, their arrivals come closer than their writes. On loopback or
a LAN that is well below a millisecond; raise the margin for a noisier path.

Waiting costs no polling. A caller that cannot have the turn at once joins the account's queue
(OTP first, then normal, then bulk; FIFO within one) and blocks on a wake list of its own
(``BLPOP``); the report of the hit before pushes the turn onto it. A granted turn is committed
(``fire``) :data:`COMMIT_AHEAD_S` before its start — off the path between the start and the
write. Until then it is not spent: a caller of a higher priority takes it over (the holder goes
back to the head of its class and learns it at ``fire``), so an OTP waits for at most the hit in
flight, not for a bulk hit that was granted but has not left. Per hit: ``enter``, a blocking pop
while waiting, ``fire``, ``done`` — whatever the wait — and two ``TIME`` probes while the
committed holder waits for its start (they keep the clock bounds, and so the wait, tight).

**The lease.** A holder that dies between its grant and its report would hold the account for
ever; so every turn is a lease of ``lease_ms`` from its start. Past it Redis hands the turn on
by itself, counting the silent holder's hit as written at the end of its lease — sound because
a holder never writes that late: ``fire`` refuses a commit too close to the lease's end, and
the holder looks at its clock (pessimistic bound) once more before returning "write now". What
a dead holder costs is one lease of the account's throughput (``lease_ms / interval`` hits, 5
at the defaults), never a violation. The one window no check can close is a thread
descheduled for the whole :data:`LEASE_GUARD_S` between that last look and its ``send``.

Waiters die too (a worker SIGKILLed with threads waiting): each waiter promises Redis to listen
for ``listen_s`` at most before asking again, and a waiter that stopped listening is skipped
when the turn is handed on. The first waiter in line listens only until the holder's lease ends,
so that a dead holder is replaced within its lease even when no other caller comes by.

A 429 pushes the account's next start back fleet-wide (``penalize``), including a turn already
granted and not yet fired: its ``fire`` moves it behind the penalty.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from nusaworker.connections import AnyRedisURL
from nusaworker.errors import ConfigurationError, GateUnavailable
from nusaworker.keys import TURN_TTL_S, Keys
from nusaworker.pacing.clocksync import ClockSync
from nusaworker.pacing.gate import WARM_UP_TIME_SAMPLES, gate_client, probe_time, unavailable
from nusaworker.pacing.timing import sleep_until
from nusaworker.redis_scripts import lua
from nusaworker.types import OnGrant, Priority, Turn

log = logging.getLogger(__name__)

# The path to the provider on a LAN or loopback: see the module docstring. On loopback it
# needs nothing (a hit is on the wire before its report leaves); a quarter of a millisecond
# covers a LAN's jitter and costs 0.5 % of the rate.
DEFAULT_SAFETY_MARGIN_MS = 0.25
# A live holder reports within a millisecond or two of its start; 250 ms covers a worker that
# the scheduler (or a GC pause) keeps off the CPU for a long while, and a dead holder costs
# five hits of the account's throughput.
DEFAULT_LEASE_MS = 250.0
# How long a waiter blocks before it asks again (renewing its place and checking the holder's
# lease). Long, because the turn is pushed to it: this only bounds how long a dead waiter stays
# in the queue.
DEFAULT_LISTEN_S = 2.0
# A waiter's promise to listen outlives its block by this much (the round trip to ask again).
LISTEN_SLACK_S = 0.5
# A holder does not write this close to the end of its lease (pessimistic clock bound): what
# delays the write after its last look at the clock must fit in here.
LEASE_GUARD_S = 0.005
# The commit (`fire`) is made this long before the turn's start: its round trip and the
# ledger's fence after it (about a millisecond each from a busy process) are then off the path
# between the start and the write. An OTP arriving later than this waits for the next turn
# instead of taking this one over.
COMMIT_AHEAD_S = 0.008
# While a committed holder waits for its start, up to this many TIME round trips narrow the
# clock bounds, as long as this much time is left before the start.
CLOCK_PROBES = 3
CLOCK_PROBE_MIN_LEFT_S = 0.002
# The first waiter wakes this long after the holder's lease ends, to hand the turn on.
LEASE_WAKE_SLACK_S = 0.002

RANKS: dict[Priority, int] = {"otp": 0, "normal": 1, "bulk": 2}


@dataclass(frozen=True)
class Grant:
    """A turn handed to this caller: its start and the end of its lease (µs, Redis clock)."""

    not_before_us: int
    lease_until_us: int


# Answers of the script (its first value).
QUEUED, GRANTED, TOO_EARLY = 0, 1, 2
FIRE_NOW = GRANTED


@dataclass(frozen=True)
class _Reply:
    code: int
    not_before_us: int
    server_now_us: int
    lease_until_us: int
    position: int
    holder_lease_until_us: int


class CausalStats:
    """Counters of one gate object (this process's view); safe to update from many threads."""

    FIELDS = (
        "acquisitions",
        "immediate",
        "woken",
        "renewals",
        "taken_over",
        "lease_lost",
        "early",
        "cancels",
        "reports",
        "report_failures",
        "penalties",
        "unavailable",
        "script_calls",
        "total_wait_s",
        "late_s",
        "hold_s",
        "width_s",
    )

    def __init__(self) -> None:
        self._totals: dict[str, float] = dict.fromkeys(self.FIELDS, 0)
        self._lock = threading.Lock()

    def add(self, counter: str, amount: float = 1) -> None:
        """Add ``amount`` to one counter."""
        with self._lock:
            self._totals[counter] += amount

    def snapshot(self) -> dict[str, float]:
        """The counters as a plain dict."""
        with self._lock:
            return dict(self._totals)


class CausalTurn:
    """One granted turn; reported exactly once (later calls do nothing)."""

    __slots__ = ("_account", "_done", "_gate", "_token", "fire_at")

    def __init__(self, gate: CausalGate, account: str, token: str) -> None:
        self._gate = gate
        self._account = account
        self._token = token
        self._done = False
        #: Local time "write now" was returned (0 until then).
        self.fire_at = 0.0

    def written(self) -> None:
        """The request is out: the next turn may start ``interval`` from now (Redis clock)."""
        if not self._done:
            self._done = True
            if self.fire_at:
                # From "write now" to the report: what each hit adds to the account's interval.
                self._gate.stats.add("hold_s", self._gate._clock() - self.fire_at)
            self._gate._report(self._account, self._token, "done")

    def cancel(self) -> None:
        """Nothing was written: hand the turn on at once."""
        if not self._done:
            self._done = True
            self._gate._report(self._account, self._token, "cancel")


class CausalGate:
    """A :class:`~nusaworker.providers.gate.Gate` whose turns follow each other causally.

    Args:
        redis_client_or_url: a ``redis://`` URL (a client is made with
            :func:`~nusaworker.pacing.gate.gate_client`: short timeouts) or a ready client.
            Waiting uses a second connection pool with the same options and a socket timeout
            above ``listen_s`` (a blocking pop holds its connection).
        min_interval_ms: the provider's rule, one hit per this many ms per account.
        safety_margin_ms: added to every interval: the path to the provider (module docstring).
        lease_ms: how long after its start a turn may go unreported before Redis hands it on.
        listen_s: how long a waiter blocks before it asks again.
        keys: key names (the prefix lets tests and benchmarks share a server).
        clock, sleep: the local monotonic clock and how to sleep (injected for tests).
    """

    def __init__(
        self,
        redis_client_or_url: redis.Redis | AnyRedisURL,
        *,
        min_interval_ms: float = 50.0,
        safety_margin_ms: float = DEFAULT_SAFETY_MARGIN_MS,
        lease_ms: float = DEFAULT_LEASE_MS,
        listen_s: float = DEFAULT_LISTEN_S,
        keys: Keys = Keys(),  # noqa: B008 - frozen dataclass, safe as a default
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not min_interval_ms > 0:
            raise ConfigurationError("min_interval_ms must be positive")
        if not safety_margin_ms >= 0:
            raise ConfigurationError("safety_margin_ms must not be negative")
        if not lease_ms > 2 * LEASE_GUARD_S * 1000:
            raise ConfigurationError(f"lease_ms must be above {2 * LEASE_GUARD_S * 1000:.0f}")
        if not listen_s > 0:
            raise ConfigurationError("listen_s must be positive")
        if isinstance(redis_client_or_url, redis.Redis):
            self._client = redis_client_or_url
        else:
            self._client = gate_client(redis_client_or_url)
        self._blocking = _blocking_client(self._client, listen_s)
        self.min_interval_ms = min_interval_ms
        self.safety_margin_ms = safety_margin_ms
        self.lease_ms = lease_ms
        self.listen_s = listen_s
        self.keys = keys
        self.stats = CausalStats()
        self._interval_us = round((min_interval_ms + safety_margin_ms) * 1000)
        self._lease_us = round(lease_ms * 1000)
        self._listen_us = round((listen_s + LISTEN_SLACK_S) * 1_000_000)
        self._ahead_us = round(COMMIT_AHEAD_S * 1_000_000)
        self._guard_us = round((COMMIT_AHEAD_S + LEASE_GUARD_S) * 1_000_000)
        self._ttl_ms = TURN_TTL_S * 1000
        self._clock = clock
        self._sleep = sleep
        self._clock_sync = ClockSync()
        self._script = self._client.register_script(lua("nusaworker.pacing", "turn"))

    @property
    def interval_s(self) -> float:
        """From one report to the next start: ``min_interval_ms + safety_margin_ms``, in s."""
        return self._interval_us / 1_000_000

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        """Block until this caller holds ``account``'s turn and its start has come.

        ``on_grant`` runs once the turn is committed, :data:`COMMIT_AHEAD_S` before its start
        (so that a worker dying in the ~50 ms between the grant and the start is not taken for
        one that may have written); if it raises, the turn is given back and the exception
        propagates. Raises
        :class:`~nusaworker.errors.GateUnavailable` when Redis does not answer.
        """
        started = self._clock()
        token = secrets.token_hex(8)
        rank = RANKS[priority]
        while True:
            grant = self._wait_for_turn(account, token, rank)
            turn = CausalTurn(self, account, token)
            try:
                fired = self._fire(account, token, grant, on_grant)
            except BaseException:
                turn.cancel()
                raise
            if fired:
                turn.fire_at = self._clock()
                self.stats.add("acquisitions")
                self.stats.add("total_wait_s", turn.fire_at - started)
                return turn
            # Taken over by a higher priority (we are back at the head of our class), or our
            # lease ran out before we could fire: queue again.
            self.stats.add("taken_over")

    def _fire(self, account: str, token: str, grant: Grant, on_grant: OnGrant | None) -> bool:
        """Commit the turn just before its start, then wait for the start; True: write now.

        The commit (``fire``) is made :data:`COMMIT_AHEAD_S` before the start, so that its
        round trip is not paid between the start and the write; from then on the turn cannot
        be taken over, and ``on_grant`` runs. The wait that follows ends at the latest local
        moment the start can be (:mod:`.clocksync`): never early on Redis's clock.
        """
        not_before_us = grant.not_before_us
        while True:
            bounds = self._clock_sync.current(self._clock())
            start_latest = not_before_us / 1_000_000 - bounds.low
            sleep_until(start_latest - COMMIT_AHEAD_S, clock=self._clock, sleep=self._sleep)
            reply = self._call("fire", account, token, self._guard_us, self._ahead_us)
            if reply.code == TOO_EARLY:
                self.stats.add("early")
                not_before_us = reply.not_before_us
                continue
            if reply.code != FIRE_NOW:
                return False
            if on_grant is not None:
                on_grant()
            self._narrow_clock(reply.not_before_us)
            bounds = self._clock_sync.current(self._clock())
            start_latest = reply.not_before_us / 1_000_000 - bounds.low
            woke_at = sleep_until(start_latest, clock=self._clock, sleep=self._sleep)
            self.stats.add("late_s", woke_at - start_latest)
            # The bounds' width is waited on top of the start, at most: a cost of every hit.
            self.stats.add("width_s", bounds.width)
            if woke_at <= reply.lease_until_us / 1_000_000 - bounds.high - LEASE_GUARD_S:
                return True
            # Descheduled past our own lease: Redis may hand the turn on; do not write.
            self.stats.add("lease_lost")
            self._report(account, token, "cancel")
            return False

    def _narrow_clock(self, not_before_us: int) -> None:
        """Use the wait before the start for a few fast ``TIME`` round trips: script calls
        from a busy process are slow, and the bounds are only as narrow as the fastest
        recent round trip — every tenth of a millisecond they leave is waited at every hit."""
        for _ in range(CLOCK_PROBES):
            bounds = self._clock_sync.current(self._clock())
            if not_before_us / 1_000_000 - bounds.low - self._clock() < CLOCK_PROBE_MIN_LEFT_S:
                return
            try:
                probe_time(self._client, self._clock_sync, self._clock)
            except (redis.RedisError, OSError):
                return  # only a refinement; the bounds we have are sound

    def penalize(self, account: str, seconds: float) -> None:
        """Start no turn of ``account`` before ``seconds`` from now, fleet-wide (after a 429).

        Raises :class:`~nusaworker.errors.GateUnavailable` when Redis does not answer.
        """
        if not seconds > 0:
            return
        self._call("penalize", account, "", round(seconds * 1_000_000))
        self.stats.add("penalties")

    def warm_up(self, connections: int = 1) -> None:
        """Check that Redis answers, load the script, learn its clock, open connections.

        Call it when a worker process starts, with its number of threads. Raises
        :class:`~nusaworker.errors.GateUnavailable` if Redis does not answer.
        """
        opened: list[tuple[Any, Any]] = []
        try:
            self._client.ping()
            self._script.sha = self._client.script_load(self._script.script)
            for _ in range(WARM_UP_TIME_SAMPLES):
                probe_time(self._client, self._clock_sync, self._clock)
            for pool in (self._client.connection_pool, self._blocking.connection_pool):
                for _ in range(connections):
                    opened.append((pool, pool.get_connection()))
        except (redis.RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        finally:
            for pool, connection in opened:
                pool.release(connection)

    def close(self) -> None:
        """Close the Redis connections this gate holds."""
        self._client.close()
        self._blocking.close()

    # -- internals -------------------------------------------------------------------------------

    def _wait_for_turn(self, account: str, token: str, rank: int) -> Grant:
        reply = self._call("enter", account, token, rank, self._listen_us)
        if reply.code == GRANTED:
            self.stats.add("immediate")
            return Grant(reply.not_before_us, reply.lease_until_us)
        wake_key = self.keys.pace_wake(account) + token
        while True:
            timeout = self.listen_s
            if reply.position == 0 and reply.holder_lease_until_us:
                # Next in line: be there when the holder's lease runs out, in case it died.
                left = (reply.holder_lease_until_us - reply.server_now_us) / 1_000_000
                timeout = min(timeout, max(0.01, left + LEASE_WAKE_SLACK_S))
            try:
                item = self._blocking.blpop([wake_key], timeout=timeout)
            except (redis.RedisError, OSError) as exc:
                self._report(account, token, "cancel")
                raise self._unavailable(exc) from exc
            if item is not None:
                self.stats.add("woken")
                not_before, _pushed_at, lease_until = (int(v) for v in item[1].split())
                return Grant(not_before, lease_until)
            self.stats.add("renewals")
            reply = self._call("enter", account, token, rank, self._listen_us)
            if reply.code == GRANTED:
                return Grant(reply.not_before_us, reply.lease_until_us)

    def _report(self, account: str, token: str, op: str) -> None:
        """``done`` or ``cancel``; never raises: the lease covers a report that is lost."""
        try:
            self._call(op, account, token)
        except GateUnavailable as exc:
            self.stats.add("report_failures")
            log.warning("pacing turn of %s not reported (%s); its lease covers it", account, exc)
            return
        self.stats.add("reports" if op == "done" else "cancels")

    def _call(self, op: str, account: str, token: str, arg7: int = 0, arg8: int = 0) -> _Reply:
        keys = [
            self.keys.pace_turn(account),
            self.keys.pace_queue(account),
            self.keys.pace_alive(account),
        ]
        args: list[str | int] = [
            op,
            token,
            self._interval_us,
            self._lease_us,
            self._ttl_ms,
            self.keys.pace_wake(account),
            arg7,
            arg8,
        ]
        sent_at = self._clock()
        try:
            result = self._script(keys=keys, args=args)
        except (redis.RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        received_at = self._clock()
        self.stats.add("script_calls")
        values = [int(value) for value in result]
        self._clock_sync.observe(values[2], sent_at, received_at)
        return _Reply(*values[:6])

    def _unavailable(self, exc: BaseException) -> GateUnavailable:
        self.stats.add("unavailable")
        return unavailable(self._client, exc)


def _blocking_client(client: redis.Redis, listen_s: float) -> redis.Redis:
    """A client on the same server whose socket timeout outlasts a blocking pop of
    ``listen_s`` (the gate's own client times out in a fraction of a second)."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": listen_s + 2.0}
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )
