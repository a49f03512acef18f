"""The polling cadence: intervals grow with age, the last poll lands on the horizon (pure)."""

from __future__ import annotations

import pytest

from nusaworker.tracking import cadence


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (0, 5),
        (59.9, 5),
        (60, 15),
        (299, 15),
        (300, 60),
        (1799, 60),
        (1800, 300),
        (6 * 3600, 900),
        (1e9, 900),
    ],
)
def test_poll_interval_backs_off_with_age(age: float, interval: float) -> None:
    assert cadence.poll_interval(age) == interval


def test_poll_interval_never_shrinks_as_a_message_ages() -> None:
    intervals = [cadence.poll_interval(age) for age in range(0, 30_000, 7)]

    assert intervals == sorted(intervals)


def test_next_poll_at_follows_the_interval_of_the_current_age() -> None:
    sent_at = 1_000.0

    assert cadence.next_poll_at(sent_at, sent_at + 10, horizon_s=3600) == sent_at + 15
    assert cadence.next_poll_at(sent_at, sent_at + 400, horizon_s=3600) == sent_at + 460


def test_next_poll_at_is_clamped_to_the_horizon_for_a_last_look() -> None:
    sent_at = 1_000.0

    assert cadence.next_poll_at(sent_at, sent_at + 3590, horizon_s=3600) == sent_at + 3600


def test_next_poll_at_is_none_past_the_horizon() -> None:
    assert cadence.next_poll_at(0.0, 3600.0, horizon_s=3600) is None
    assert cadence.is_overdue(0.0, 3600.0, 3600)
    assert not cadence.is_overdue(0.0, 3599.9, 3600)


def test_next_poll_at_accepts_custom_steps() -> None:
    steps = ((10.0, 1.0), (float("inf"), 2.0))

    assert cadence.next_poll_at(0.0, 5.0, horizon_s=100, steps=steps) == 6.0
    assert cadence.next_poll_at(0.0, 50.0, horizon_s=100, steps=steps) == 52.0
