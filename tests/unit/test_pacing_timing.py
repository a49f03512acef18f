"""The pure time arithmetic of the pacing gate: horizons, deadlines, lateness, sleeping."""

from __future__ import annotations

import math

import pytest

from nusaworker.pacing.clocksync import OffsetBounds
from nusaworker.pacing.timing import (
    DEFAULT_HORIZONS,
    Deadline,
    horizon_us,
    lateness_s,
    local_deadline,
    may_fire,
    refusal_sleep_s,
    sleep_until,
)
from nusaworker.testing.clock import FakeClock

STEP_US = 52_000


def test_horizon_us_defaults_give_bulk_half_a_slot_normal_more_and_otp_no_limit() -> None:
    bulk = horizon_us("bulk", DEFAULT_HORIZONS, STEP_US)
    normal = horizon_us("normal", DEFAULT_HORIZONS, STEP_US)
    assert bulk == STEP_US // 2
    assert bulk < normal <= 2 * STEP_US
    assert horizon_us("otp", DEFAULT_HORIZONS, STEP_US) == -1


def test_horizon_us_missing_priority_falls_back_to_default() -> None:
    horizons = {"bulk": 0.0}
    assert horizon_us("bulk", horizons, STEP_US) == 0
    assert horizon_us("normal", horizons, STEP_US) == round(DEFAULT_HORIZONS["normal"] * STEP_US)
    assert horizon_us("otp", {"otp": math.inf}, STEP_US) == -1
    assert horizon_us("otp", {"otp": 3.0}, STEP_US) == 3 * STEP_US


def test_local_deadline_maps_slot_start_through_both_offset_bounds() -> None:
    # server clock = local clock + [5000.0002, 5000.0005]
    offset = OffsetBounds(low=5000.0002, high=5000.0005)
    slot_start_us = 6_000_000_000  # 6000 s on the server's clock
    deadline = local_deadline(slot_start_us, offset)
    assert deadline.earliest == pytest.approx(1000.0 - 0.0005)
    assert deadline.latest == pytest.approx(1000.0 - 0.0002)
    assert deadline.earliest < deadline.latest


def test_lateness_s_counts_from_the_earliest_possible_slot_start() -> None:
    deadline = Deadline(earliest=10.0, latest=10.0003)
    # Waking exactly at `latest` is still up to 0.3 ms late as far as we can know.
    assert lateness_s(10.0003, deadline) == pytest.approx(0.0003)
    assert lateness_s(10.0023, deadline) == pytest.approx(0.0023)
    assert lateness_s(9.0, deadline) == 0.0


def test_may_fire_only_within_tolerance() -> None:
    assert may_fire(0.0009, tolerance_s=0.001)
    assert may_fire(0.001, tolerance_s=0.001)
    assert not may_fire(0.0011, tolerance_s=0.001)


def test_refusal_sleep_s_is_the_scripts_wait_plus_bounded_jitter() -> None:
    assert refusal_sleep_s(26_000, jitter_s=0.005, unit_random=0.0) == pytest.approx(0.026)
    assert refusal_sleep_s(26_000, jitter_s=0.005, unit_random=0.5) == pytest.approx(0.0285)
    assert refusal_sleep_s(-5, jitter_s=0.005, unit_random=0.0) == 0.0


def test_sleep_until_wakes_at_or_after_the_deadline_never_before() -> None:
    clock = FakeClock(100.0)
    woke = sleep_until(100.05, clock=clock, sleep=clock.sleep, spin_s=0.0005)
    assert woke >= 100.05
    assert woke - 100.05 < 0.0001
    # One long sleep for most of the wait, then short yields for the last stretch.
    assert clock.sleeps[0] == pytest.approx(0.05 - 0.0005)
    assert len(clock.sleeps) > 1
    assert all(s < 0.0005 for s in clock.sleeps[1:])


def test_sleep_until_returns_at_once_when_the_deadline_has_passed() -> None:
    clock = FakeClock(100.0)
    assert sleep_until(99.0, clock=clock, sleep=clock.sleep) == 100.0
    assert clock.sleeps == []
