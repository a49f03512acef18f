"""RedisGate against a real Redis: spacing, priorities, penalties, failing closed."""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from nusaworker.errors import GateUnavailable
from nusaworker.keys import PACE_TTL_S, Keys
from nusaworker.pacing import RedisGate
from nusaworker.providers.gate import Priority
from nusaworker.testing.redis_server import free_port
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

MIN_INTERVAL_S = 0.050
# How much later than its slot a woken thread may take its stamp (scheduler wake-up jitter).
WAKE_SKEW_S = 0.003


@pytest.fixture
def make_gate(make_pacing_gate: Callable[..., Any]) -> Callable[..., RedisGate]:
    """Factory of RedisGates on the test's key prefix (separate clients, like separate workers)."""
    return functools.partial(make_pacing_gate, RedisGate)


def test_redisgate_sequential_acquisitions_are_at_least_one_interval_apart(
    make_gate: Callable[..., RedisGate],
) -> None:
    gate = make_gate()
    stamps = []
    for _ in range(6):
        gate.acquire("acct-seq")
        stamps.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= MIN_INTERVAL_S
    assert max(gaps) < 0.5  # nothing else holds the account: no reason to wait long
    assert gate.stats.acquisitions == 6


def test_redisgate_pace_key_lives_no_longer_than_its_ttl_past_the_slot(
    make_gate: Callable[..., RedisGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    gate = make_gate()
    gate.acquire("acct-ttl")
    pttl = redis_client.pttl(Keys(prefix=key_prefix).pace("acct-ttl"))
    assert 0 < pttl <= PACE_TTL_S * 1000 + 1000 * gate.step_s
    assert pttl > (PACE_TTL_S - 5) * 1000


def test_redisgate_late_wakeup_gives_its_unused_slot_back(
    make_gate: Callable[..., RedisGate],
) -> None:
    oversleeps = [0.004]  # the scheduler hands the CPU back 4 ms late, once

    def sleep(seconds: float) -> None:
        time.sleep(seconds + (oversleeps.pop() if seconds > 0.001 and oversleeps else 0.0))

    gate = make_gate(sleep=sleep)
    gate.acquire("acct-late")
    first = time.monotonic()
    gate.acquire("acct-late")  # its slot starts a step later; it wakes 4 ms too late
    gap = time.monotonic() - first
    assert gate.stats.late_reacquires == 1
    assert gate.stats.given_back == 1
    assert MIN_INTERVAL_S <= gap < 1.5 * gate.step_s  # not a whole extra slot lost


def test_redisgate_otp_is_not_queued_behind_draining_bulk(
    make_gate: Callable[..., RedisGate],
) -> None:
    gate = make_gate()
    otp_gate = make_gate()  # another worker
    stop = threading.Event()
    bulk_hits = []

    def bulk() -> None:
        while not stop.is_set():
            gate.acquire("acct-prio", priority="bulk")
            bulk_hits.append(time.monotonic())

    threads = [threading.Thread(target=bulk) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        assert wait_for(lambda: gate.stats.refusals > 0, 5, interval=0.01)  # bulk is queueing
        otp_waits = []
        for _ in range(3):
            asked = time.monotonic()
            otp_gate.acquire("acct-prio", priority="otp")
            otp_waits.append(time.monotonic() - asked)
            time.sleep(0.07)  # OTPs come one at a time, each into a queue bulk has refilled
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert gate.stats.refusals > 0  # bulk really was queueing
    # The bulk tail is at most ~1.5 slots ahead, so an OTP waits about that (twice, if it
    # wakes too late once on a busy box) — never behind a queue of 8 reserved bulk slots.
    assert max(otp_waits) < 4 * gate.step_s
    stamps = sorted(bulk_hits)
    # A stamp taken after acquire() returns carries its own thread's wake-up delay, so on a
    # busy box two stamps can sit a little closer than their slots (CI saw 49.0 ms). The
    # 50 ms rule itself is checked where it matters, at the sandbox's kernel-stamped arrivals
    # (test_pacing_fleet, the benchmarks); here: no two bulk hits share a slot.
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= MIN_INTERVAL_S - WAKE_SKEW_S


def test_redisgate_penalize_holds_back_the_whole_fleet(make_gate: Callable[..., RedisGate]) -> None:
    gates = [make_gate() for _ in range(3)]
    gates[0].acquire("acct-429")
    penalized_at = time.monotonic()
    gates[0].penalize("acct-429", 0.3)
    returned = []

    def acquire(gate: RedisGate, priority: Priority) -> None:
        gate.acquire("acct-429", priority=priority)
        returned.append(time.monotonic())

    priorities: tuple[Priority, ...] = ("otp", "normal", "bulk")
    threads = [
        threading.Thread(target=acquire, args=(gate, priority))
        for gate in gates
        for priority in priorities
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(returned) == 9
    assert min(returned) >= penalized_at + 0.3
    assert gates[0].stats.penalties == 1


def test_redisgate_penalize_never_pulls_the_next_slot_back(
    make_gate: Callable[..., RedisGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    gate = make_gate()
    key = Keys(prefix=key_prefix).pace("acct-keep")
    gate.penalize("acct-keep", 2.0)
    pushed = int(redis_client.get(key))
    gate.penalize("acct-keep", 0.1)
    assert int(redis_client.get(key)) == pushed
    seconds, micros = redis_client.time()
    assert 1_500_000 < pushed - (seconds * 1_000_000 + micros) <= 2_000_000


def test_redisgate_fails_closed_quickly_when_redis_is_unreachable() -> None:
    port = free_port()
    gate = RedisGate(f"redis://:s3cret-pass@127.0.0.1:{port}/0")
    started = time.monotonic()
    with pytest.raises(GateUnavailable) as caught:
        gate.acquire("acct-down", priority="otp")
    assert time.monotonic() - started < 2.0
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "s3cret" not in message
    assert caught.value.retryable
    with pytest.raises(GateUnavailable):
        gate.penalize("acct-down", 1.0)
    with pytest.raises(GateUnavailable):
        gate.warm_up(2)
    assert gate.stats.unavailable == 3
    assert gate.stats.acquisitions == 0
