"""CausalGate against a real Redis and, over real HTTP, the sandbox: causal order, priorities,
leases, penalties, failing closed — and no rule violation, with no tolerance, under CPU hogs."""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from nusaworker.errors import GateUnavailable, NusaWorkerError
from nusaworker.keys import TURN_TTL_S, Keys
from nusaworker.pacing import CausalGate
from nusaworker.pacing.causal import DEFAULT_LEASE_MS
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.gate import OnGrant, Priority, Turn
from nusaworker.testing.redis_server import free_port
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

INTERVAL_S = 0.05025  # 50 ms + the default margin


@pytest.fixture
def make_gate(make_pacing_gate: Callable[..., Any]) -> Callable[..., CausalGate]:
    """Factory of CausalGates on the test's key prefix (separate clients, like separate workers)."""
    return functools.partial(make_pacing_gate, CausalGate)


class Waiter(threading.Thread):
    """One caller blocked in ``acquire``; records when it got the turn."""

    def __init__(self, gate: CausalGate, priority: Priority = "bulk") -> None:
        super().__init__(daemon=True)
        self.gate = gate
        self.priority = priority
        self.turn: Turn | None = None
        self.got_at: float | None = None

    def run(self) -> None:
        self.turn = self.gate.acquire("acct", priority=self.priority)
        self.got_at = time.monotonic()


def queued(client: redis.Redis, key_prefix: str) -> int:
    return int(client.zcard(Keys(prefix=key_prefix).pace_queue("acct")))


def test_causal_gate_next_turn_starts_an_interval_after_the_report(
    make_gate: Callable[..., CausalGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    first, second = make_gate(), make_gate()
    turn = first.acquire("acct")
    waiter = Waiter(second)
    waiter.start()
    assert wait_for(lambda: queued(redis_client, key_prefix) == 1, 5.0, interval=0.002)
    # The holder has not reported: however long that takes, the waiter stays queued.
    assert waiter.got_at is None
    reported_at = time.monotonic()
    turn.written()
    waiter.join(5)
    assert waiter.got_at is not None
    assert waiter.got_at - reported_at >= INTERVAL_S
    assert second.stats.snapshot()["woken"] == 1


def test_causal_gate_otp_waiter_goes_before_an_earlier_bulk_waiter(
    make_gate: Callable[..., CausalGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    holder = make_gate()
    turn = holder.acquire("acct")
    bulk = Waiter(make_gate(), "bulk")
    bulk.start()
    assert wait_for(lambda: queued(redis_client, key_prefix) == 1, 5.0, interval=0.002)
    otp = Waiter(make_gate(), "otp")
    otp.start()
    assert wait_for(lambda: queued(redis_client, key_prefix) == 2, 5.0, interval=0.002)
    turn.written()
    otp.join(5)
    assert otp.turn is not None and otp.got_at is not None
    assert bulk.got_at is None  # still waiting: the OTP holds the turn
    otp.turn.written()
    bulk.join(5)
    assert bulk.got_at is not None and bulk.got_at - otp.got_at >= INTERVAL_S


def test_causal_gate_otp_takes_over_a_bulk_turn_that_has_not_fired(
    make_gate: Callable[..., CausalGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    holder = make_gate()
    turn = holder.acquire("acct")
    bulk_gate = make_gate()
    bulk = Waiter(bulk_gate, "bulk")
    bulk.start()
    assert wait_for(lambda: queued(redis_client, key_prefix) == 1, 5.0, interval=0.002)
    # A 429 keeps the next start a second away: the bulk waiter is granted, not yet fired.
    holder.penalize("acct", 1.0)
    turn.written()
    assert wait_for(lambda: queued(redis_client, key_prefix) == 0, 5.0, interval=0.002)
    otp = Waiter(make_gate(), "otp")
    otp.start()
    otp.join(5)
    assert otp.turn is not None and otp.got_at is not None
    assert bulk.got_at is None  # back at the head of its class, not fired
    otp.turn.written()
    bulk.join(5)
    assert bulk.got_at is not None and bulk.got_at - otp.got_at >= INTERVAL_S
    assert bulk_gate.stats.snapshot()["taken_over"] == 1


def test_causal_gate_dead_holder_costs_its_lease_then_the_turn_moves_on(
    make_gate: Callable[..., CausalGate],
) -> None:
    dead = make_gate()
    started = time.monotonic()
    dead.acquire("acct")  # never reported: its process "died"
    dead.close()
    make_gate().acquire("acct").written()
    waited = time.monotonic() - started
    # Its hit counts as written at the end of its lease; the next starts an interval later.
    assert waited >= DEFAULT_LEASE_MS / 1000 + INTERVAL_S
    assert waited < 2.0  # the next in line watches the lease: well before its listen period


def test_causal_gate_skips_a_waiter_that_stopped_listening(
    make_gate: Callable[..., CausalGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    keys = Keys(prefix=key_prefix)
    # A waiter of a killed worker: first in line (OTP), its promise to listen long expired.
    redis_client.zadd(keys.pace_queue("acct"), {"ghost": 0})
    redis_client.zadd(keys.pace_alive("acct"), {"ghost": 1})
    gate = make_gate()
    gate.acquire("acct", priority="bulk").written()
    assert gate.stats.snapshot()["immediate"] == 1
    assert redis_client.zscore(keys.pace_queue("acct"), "ghost") is None


def test_causal_gate_cancel_passes_the_turn_on_without_counting_a_hit(
    make_gate: Callable[..., CausalGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    gate = make_gate()
    turn_key = Keys(prefix=key_prefix).pace_turn("acct")
    gate.acquire("acct").cancel()
    assert redis_client.hget(turn_key, "holder") is None
    assert int(redis_client.hget(turn_key, "last") or 0) == 0
    gate.acquire("acct").written()
    assert int(redis_client.hget(turn_key, "last") or 0) > 0
    assert 0 < redis_client.pttl(turn_key) <= TURN_TTL_S * 1000


def test_causal_gate_on_grant_error_gives_the_turn_back(
    make_gate: Callable[..., CausalGate], redis_client: redis.Redis, key_prefix: str
) -> None:
    gate = make_gate()

    def fenced_out() -> None:
        raise RuntimeError("fenced")

    with pytest.raises(RuntimeError):
        gate.acquire("acct", on_grant=fenced_out)
    assert redis_client.hget(Keys(prefix=key_prefix).pace_turn("acct"), "holder") is None
    assert gate.stats.snapshot()["cancels"] == 1


def test_causal_gate_lease_lost_before_the_start_queues_again_and_counts_it(
    make_gate: Callable[..., CausalGate],
) -> None:
    gate = make_gate()
    grants: list[float] = []

    def descheduled_once() -> None:
        grants.append(time.monotonic())
        if len(grants) == 1:
            time.sleep(DEFAULT_LEASE_MS / 1000 + 0.15)  # past our own lease: must not write

    turn = gate.acquire("acct", on_grant=descheduled_once)
    turn.written()
    stats = gate.stats.snapshot()
    assert len(grants) == 2
    assert (stats["lease_lost"], stats["taken_over"], stats["acquisitions"]) == (1, 1, 1)


def test_causal_gate_penalty_pushes_the_next_turn_back_fleet_wide(
    make_gate: Callable[..., CausalGate],
) -> None:
    make_gate().penalize("acct", 0.3)
    started = time.monotonic()
    make_gate().acquire("acct").written()
    assert time.monotonic() - started >= 0.3


def test_causal_gate_fails_closed_when_redis_does_not_answer() -> None:
    gate = CausalGate(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(GateUnavailable) as caught:
        gate.acquire("acct")
    assert "no hit was made" in str(caught.value)
    gate.close()


# -- over real HTTP --------------------------------------------------------------------------


class RecordingGate:
    """Wraps a gate and counts how each turn was reported."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reports: list[str] = []
        self._lock = threading.Lock()

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        return _RecordingTurn(self, self.inner.acquire(account, priority=priority))

    def penalize(self, account: str, seconds: float) -> None:
        self.inner.penalize(account, seconds)


class _RecordingTurn:
    def __init__(self, gate: RecordingGate, inner: Turn) -> None:
        self.gate = gate
        self.inner = inner

    def written(self) -> None:
        with self.gate._lock:
            self.gate.reports.append("written")
        self.inner.written()

    def cancel(self) -> None:
        with self.gate._lock:
            self.gate.reports.append("cancel")
        self.inner.cancel()


def test_paced_connection_reports_each_turn_once_and_gives_back_unwritten_ones(
    make_gate: Callable[..., CausalGate], sandbox: Any
) -> None:
    gate = RecordingGate(make_gate())
    with NusaSMSClient(base_url=sandbox.url, api_key="test-key", gate=gate) as client:
        for _ in range(3):
            client.get_balance()
    assert gate.reports == ["written"] * 3
    refused = RecordingGate(make_gate())
    with (
        NusaSMSClient(
            base_url=f"http://127.0.0.1:{free_port()}", api_key="k", gate=refused, max_attempts=1
        ) as client,
        pytest.raises(NusaWorkerError),
    ):
        client.get_balance()
    # The connection was refused before the turn was taken: nothing to report.
    assert refused.reports == []


def _hog(stop: Any) -> None:
    while not stop.is_set():
        pass


def test_causal_gate_over_http_keeps_every_gap_with_both_cores_hogged(
    make_gate: Callable[..., CausalGate], make_sandbox: Callable[..., Any]
) -> None:
    box = make_sandbox(enforce_rate=True, min_interval_ms=50.0)
    box.set_faults(latency_ms=60.0, latency_jitter_ms=40.0)
    stop = multiprocessing.get_context("spawn").Event()
    hogs = [multiprocessing.get_context("spawn").Process(target=_hog, args=(stop,)) for _ in "ab"]
    for hog in hogs:
        hog.start()
    gates = [make_gate(), make_gate()]  # two "processes": separate clients and clocks
    errors: list[BaseException] = []

    def sender(gate: CausalGate) -> None:
        try:
            with NusaSMSClient(base_url=box.url, api_key="test-key", gate=gate) as client:
                for _ in range(8):
                    client.send_whatsapp("6281234567890", "hi", priority="bulk")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(g,)) for g in gates for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        stop.set()
        for hog in hogs:
            hog.join(5)
    assert not errors
    arrivals = sorted(hit["t"] for hit in box.hits(kind="send"))
    assert len(arrivals) == 64
    gaps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    # No tolerance: the next hit is granted only after the previous one was written.
    assert min(gaps_ms) >= 50.0
    assert box.stats()["violations"] == 0
    assert box.stats()["by_status"].get("429", 0) == 0
