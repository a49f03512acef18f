"""The beat schedule: every entry expires, routes by name, and beat is redbeat (no network)."""

from __future__ import annotations

import pytest

import celeryconfig
from nusaworker.routing import route_task
from nusaworker.settings import Settings
from nusaworker.tracking.schedule import SCHEDULE


@pytest.mark.parametrize("name", sorted(SCHEDULE))
def test_schedule_entry_expires_within_two_periods(name: str) -> None:
    entry = SCHEDULE[name]

    assert 0 < entry["options"]["expires"] <= 2 * entry["schedule"]


@pytest.mark.parametrize("name", sorted(SCHEDULE))
def test_schedule_entry_task_is_routed_to_status_or_housekeeping(name: str) -> None:
    task = SCHEDULE[name]["task"]

    route = route_task(task, [], {}, {})

    assert route in ({"queue": "status"}, {"queue": "housekeeping"})


def test_schedule_is_part_of_the_celery_config_with_redbeat() -> None:
    from nusaworker.celery import app

    assert set(SCHEDULE) <= set(app.conf.beat_schedule)
    from celery.utils.imports import symbol_by_name
    from redbeat import RedBeatScheduler

    scheduler = symbol_by_name(celeryconfig.beat_scheduler)
    assert issubclass(scheduler, RedBeatScheduler)
    assert celeryconfig.redbeat_lock_timeout > celeryconfig.beat_max_loop_interval


def test_make_app_registers_the_tracking_tasks_and_redbeat_under_the_prefix() -> None:
    from nusaworker.celery import make_app

    app = make_app(Settings(redis_url="redis://127.0.0.1:1/0", key_prefix="fleet7:"))
    app.loader.import_default_modules()

    for entry in SCHEDULE.values():
        assert entry["task"] in app.tasks
    assert "nusaworker.housekeeping.webhook" in app.tasks
    assert "nusaworker.status.poll" in app.tasks
    assert app.conf.redbeat_key_prefix == "fleet7:redbeat:"
    assert app.conf.redbeat_redis_url == "redis://127.0.0.1:1/0"


def test_redbeat_tick_that_cannot_reach_redis_is_retried_not_fatal() -> None:
    import redis

    from nusaworker.tracking.scheduler import RETRY_TICK_S, RedBeatScheduler

    class Unreachable:
        def extend(self, *args: object) -> None:
            raise redis.ConnectionError("Error 111 connecting. Connection refused.")

    scheduler = RedBeatScheduler.__new__(RedBeatScheduler)  # no app, no Redis: tick only
    scheduler.lock_key = "nw:redbeat::lock"
    scheduler.lock = Unreachable()
    scheduler.lock_timeout = 10
    assert scheduler.tick() == RETRY_TICK_S
