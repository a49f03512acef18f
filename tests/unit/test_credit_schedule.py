"""The credit beat entries: in the fleet app's schedule, expiring, routed to housekeeping."""

from __future__ import annotations

from nusaworker.credit.schedule import PROBE_TASK, SCHEDULE, WATCH_TASK
from nusaworker.routing import route_task
from nusaworker.settings import Settings


def test_schedule_entries_are_in_the_beat_schedule_and_expire_after_one_tick() -> None:
    assert {entry["task"] for entry in SCHEDULE.values()} == {PROBE_TASK, WATCH_TASK}
    from nusaworker.celery import app

    for name, entry in SCHEDULE.items():
        assert app.conf.beat_schedule[name] == entry
        assert 0 < entry["options"]["expires"] <= entry["schedule"]


def test_schedule_tasks_are_routed_to_housekeeping() -> None:
    for entry in SCHEDULE.values():
        assert route_task(entry["task"], [], {}, dict(entry["options"])) == {
            "queue": "housekeeping"
        }


def test_probe_tick_plus_default_interval_stays_within_thirty_seconds() -> None:
    probe = next(e for e in SCHEDULE.values() if e["task"] == PROBE_TASK)
    assert probe["schedule"] + Settings().breaker_probe_interval_s <= 30


def test_tasks_are_registered_on_the_fleet_app() -> None:
    from nusaworker.celery import app

    assert "nusaworker.tasks" in app.conf.include
    assert {e["task"] for e in app.conf.beat_schedule.values()} >= {PROBE_TASK, WATCH_TASK}
    app.loader.import_default_modules()  # what a worker does at start
    assert {PROBE_TASK, WATCH_TASK, "nusaworker.send"} <= set(app.tasks)
