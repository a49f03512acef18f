"""Bounding the offset between the Redis server's clock and the local monotonic clock."""

from __future__ import annotations

import pytest

from nusaworker.pacing.clocksync import ClockSync, OffsetBounds, narrow, sample

# The true offset in these tests: server clock = local clock + 5000 s.
OFFSET = 5000.0


def server_now_us(local_at_execution: float) -> int:
    return int((local_at_execution + OFFSET) * 1_000_000)


def test_sample_bounds_the_offset_by_the_round_trip() -> None:
    bounds = sample(server_now_us(10.0004), sent_at=10.0, received_at=10.002)
    assert bounds.low <= OFFSET <= bounds.high
    assert bounds.width == pytest.approx(0.002, abs=2e-6)


def test_narrow_intersects_two_samples() -> None:
    first = sample(server_now_us(10.0001), sent_at=10.0, received_at=10.002)
    second = sample(server_now_us(11.0019), sent_at=11.0, received_at=11.002)
    bounds = narrow(first, 10.002, second, 11.002, drift=0.0)
    assert bounds.low <= OFFSET <= bounds.high
    # Server read early in the first trip, late in the second: together they pin the offset.
    assert bounds.width < 0.0003


def test_narrow_widens_old_bounds_by_drift_since_they_were_taken() -> None:
    old = OffsetBounds(OFFSET - 0.0001, OFFSET + 0.0001)
    wide = OffsetBounds(OFFSET - 0.01, OFFSET + 0.01)
    bounds = narrow(old, 0.0, wide, 10.0, drift=1e-4)  # 10 s at 100 ppm = 1 ms
    assert bounds.low == pytest.approx(OFFSET - 0.0011)
    assert bounds.high == pytest.approx(OFFSET + 0.0011)


def test_narrow_restarts_from_the_new_sample_when_a_clock_was_stepped() -> None:
    old = OffsetBounds(OFFSET - 0.0001, OFFSET + 0.0001)
    stepped = OffsetBounds(OFFSET + 2.0, OFFSET + 2.001)
    assert narrow(old, 0.0, stepped, 1.0, drift=1e-3) == stepped


def test_clocksync_observe_narrows_below_every_single_round_trip() -> None:
    sync = ClockSync()
    local = 50.0
    widths = []
    # Slow round trips (1-2 ms), the server reading its clock at varying points within them.
    for i in range(40):
        rtt = 0.001 + 0.001 * (i % 3) / 2
        position = (i % 7) / 6
        bounds = sync.observe(server_now_us(local + rtt * position), local, local + rtt)
        widths.append(bounds.width)
        assert bounds.low <= OFFSET + 1e-6 and bounds.high >= OFFSET - 1e-6
        local += 0.005
    assert widths[0] >= 0.001
    assert widths[-1] < 0.0003
