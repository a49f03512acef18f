"""Queues and countdowns: pure functions, no broker."""

from __future__ import annotations

import pytest

from nusaworker.routing import CHANNEL_QUEUES, QUEUES, max_countdown, queue_for, route_task


@pytest.mark.parametrize("channel", sorted(CHANNEL_QUEUES))
def test_queue_for_sends_every_otp_to_the_otp_queue(channel: str) -> None:
    assert queue_for(channel, "otp") == "otp"


@pytest.mark.parametrize(
    ("channel", "queue"),
    [("wa", "wa"), ("wa_media", "wa"), ("wa_official", "wa_official"),
     ("wa_official_reply", "wa_official"), ("sms", "sms"), ("check", "check")],
)  # fmt: skip
def test_queue_for_routes_by_channel(channel: str, queue: str) -> None:
    assert queue_for(channel, "normal") == queue_for(channel, "bulk") == queue
    assert queue in QUEUES


def test_route_task_keeps_the_producers_queue_and_routes_beat_work() -> None:
    assert route_task("nusaworker.send", [], {}, {"queue": "otp"}) is None
    assert route_task("nusaworker.status.poll", [], {}, {}) == {"queue": "status"}
    assert route_task("nusaworker.housekeeping.replay", [], {}, {}) == {"queue": "housekeeping"}


def test_max_countdown_stays_well_below_the_visibility_timeout() -> None:
    assert max_countdown(3600) == 300
    assert max_countdown(8) == 2
