"""The acquisition loop against a fake reservation server and a fake clock (no Redis)."""

from __future__ import annotations

import itertools

import pytest

from nusaworker.pacing.clocksync import ClockSync
from nusaworker.pacing.slots import take_slot
from nusaworker.pacing.timing import Reply
from nusaworker.testing.clock import FakeClock

STEP_US = 52_000
SERVER_OFFSET_US = 7_000_000_000_000  # server clock = local clock + 7e6 s
START = 100.0  # the local clock at the start: small, so microsecond steps stay exact in a float


class FakeServer:
    """The reservation script's rule in Python, on a clock offset from the caller's."""

    def __init__(self, clock: FakeClock, *, horizon_us: int, rtt: float = 0.0004) -> None:
        self.clock = clock
        self.horizon_us = horizon_us
        self.rtt = rtt
        self.tail_us = 0
        self.granted: list[int] = []

    def server_now_us(self) -> int:
        return round(self.clock.now * 1_000_000) + SERVER_OFFSET_US

    def reserve(self, release_us: int) -> Reply:
        sent_at = self.clock.now
        self.clock.now += self.rtt / 2
        now = self.server_now_us()
        released = release_us > 0 and self.tail_us == release_us
        tail = release_us - STEP_US if released else self.tail_us
        start = max(now, tail)
        ahead = start - now
        self.clock.now += self.rtt / 2
        if self.horizon_us >= 0 and ahead > self.horizon_us:
            return Reply(
                False, start, now, ahead - self.horizon_us, tail, False, sent_at, self.clock.now
            )
        self.tail_us = start + STEP_US
        self.granted.append(start)
        return Reply(True, start, now, ahead, self.tail_us, released, sent_at, self.clock.now)


def take(server: FakeServer, clock: FakeClock, sync: ClockSync, tolerance_s: float = 0.001):
    return take_slot(
        server.reserve,
        clock_sync=sync,
        clock=clock,
        sleep=clock.sleep,
        tolerance_s=tolerance_s,
        jitter_s=0.005,
        rng=lambda: 0.5,
    )


def test_take_slot_never_returns_before_the_slot_starts_on_the_server_clock() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=-1)
    sync = ClockSync()
    fired = []
    for _ in range(10):
        take(server, clock, sync)
        fired.append(server.server_now_us())
    for start, fire in zip(server.granted, fired, strict=True):
        assert start <= fire <= start + 1000
    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert min(gaps) >= STEP_US - 1000


def test_take_slot_sleeps_as_told_when_refused_then_takes_the_slot() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=STEP_US // 2)
    server.tail_us = server.server_now_us() + 3 * STEP_US  # others reserved three slots
    acquisition = take(server, clock, ClockSync())
    assert acquisition.refusals == 1
    assert acquisition.late_reacquires == 0
    # Refused once, slept until the tail was half a slot ahead (+ jitter), then waited for it.
    assert acquisition.waited_s == pytest.approx(3 * STEP_US / 1e6, abs=0.001)
    assert acquisition.slot_wait_s == pytest.approx(STEP_US / 2e6 - 0.0025, abs=0.001)


def test_take_slot_gives_back_a_late_slot_nobody_reserved_after() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=-1)
    sync = ClockSync()
    take(server, clock, sync)  # the account is now busy for one slot
    clock.oversleeps = [0.003]  # the scheduler hands the CPU back 3 ms late, once
    acquisition = take(server, clock, sync)
    assert acquisition.late_reacquires == 1
    assert acquisition.given_back == 1
    late_slot, fresh_slot = server.granted[1], server.granted[2]
    # The fresh slot starts now, a few ms into the given-back one: still a full step after the
    # slot before it, and the tail is one step after the fresh slot.
    assert late_slot + 2000 <= fresh_slot < late_slot + 4500
    assert server.tail_us == fresh_slot + STEP_US
    assert acquisition.lateness_s <= 0.001
    assert server.server_now_us() >= fresh_slot


def test_take_slot_abandons_a_late_slot_others_reserved_after() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=-1)
    sync = ClockSync()
    take(server, clock, sync)
    clock.oversleeps = [0.003]
    real_reserve = server.reserve
    calls = []

    def reserve_with_a_competitor(release_us: int) -> Reply:
        calls.append(release_us)
        if len(calls) == 2:  # another worker reserves while we oversleep
            real_reserve(0)
        return real_reserve(release_us)

    acquisition = take_slot(
        reserve_with_a_competitor,
        clock_sync=sync,
        clock=clock,
        sleep=clock.sleep,
        tolerance_s=0.001,
        jitter_s=0.005,
        rng=lambda: 0.5,
    )
    assert acquisition.late_reacquires == 1
    assert acquisition.given_back == 0
    assert calls[0] == 0 and calls[1] > 0  # the token was offered, and refused
    late_slot, competitor, ours = server.granted[1:4]
    assert competitor == late_slot + STEP_US  # the late slot stays an unused hole
    assert ours == competitor + STEP_US


def test_take_slot_fires_a_slightly_late_wake_within_tolerance() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=-1)
    sync = ClockSync()
    take(server, clock, sync)
    clock.oversleeps = [0.0003]
    acquisition = take(server, clock, sync)
    assert acquisition.late_reacquires == 0
    assert 0.0003 <= acquisition.lateness_s <= 0.001


def test_take_slot_runs_on_grant_before_waiting_for_each_granted_slot() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=-1)
    sync = ClockSync()
    take(server, clock, sync)
    clock.oversleeps = [0.003]  # the first grant is woken up to late: a second grant follows
    calls: list[tuple[float, int]] = []

    def on_grant() -> None:
        calls.append((clock.now, server.granted[-1]))

    acquisition = take_slot(
        server.reserve,
        clock_sync=sync,
        clock=clock,
        sleep=clock.sleep,
        tolerance_s=0.001,
        jitter_s=0.005,
        rng=lambda: 0.5,
        on_grant=on_grant,
    )
    assert acquisition.late_reacquires == 1
    assert [slot for _, slot in calls] == server.granted[1:3]
    # The first call came well before its slot started: before the wait, not after.
    assert calls[0][0] * 1e6 + SERVER_OFFSET_US < server.granted[1] - 40_000


def test_take_slot_propagates_what_on_grant_raises() -> None:
    clock = FakeClock(START)
    server = FakeServer(clock, horizon_us=-1)

    def fenced_out() -> None:
        raise LookupError("fenced")

    with pytest.raises(LookupError):
        take_slot(
            server.reserve,
            clock_sync=ClockSync(),
            clock=clock,
            sleep=clock.sleep,
            tolerance_s=0.001,
            jitter_s=0.005,
            rng=lambda: 0.5,
            on_grant=fenced_out,
        )
    assert len(server.granted) == 1
