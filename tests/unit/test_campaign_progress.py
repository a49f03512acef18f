"""The words of ``nusaworker campaign``: the rate and ETA from successive readings, the plain
``--follow`` line, the status lines and the live view, from hand-made readings."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from nusaworker.campaigns.live import view
from nusaworker.campaigns.progress import (
    Meter,
    Reading,
    clock,
    counts,
    duration,
    final_lines,
    progress_line,
    skipped,
    state_text,
    status_lines,
)
from nusaworker.campaigns.spec import CampaignSpec, CampaignState
from nusaworker.campaigns.store import CampaignInfo

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def info(
    state: CampaignState = CampaignState.RUNNING,
    *,
    cursor: int = 40,
    messages: dict[str, int] | None = None,
    rows: int = 60,
    **spec: object,
) -> CampaignInfo:
    return CampaignInfo(
        id="0190aabbccddeeff0011223344",
        spec=CampaignSpec(name="promo", channel="wa", template="Hi {name}", **spec),  # type: ignore[arg-type]
        state=state,
        control="run",
        cursor=cursor,
        rows=rows,
        skipped={"invalid": 1, "duplicate": 2},
        messages={"accepted": 5, "sending": 2, "sent": 20, "delivered": 13}
        if messages is None
        else messages,
        created_at=T0,
        started_at=T0 + 1,
        ended_at=None,
        queued=5,
        cost={"wa": 60},
    )


def test_meter_rate_is_the_done_count_over_the_last_ten_seconds() -> None:
    meter = Meter(window_s=10.0)
    for step in range(41):  # 20 s of readings, two a second
        at = step * 0.5
        done = int(20 * at) if at <= 15 else 300  # 20 msg/s, then nothing after 15 s
        meter.add_reading(Reading(at, done, done))
    # The window is [10, 20]: 100 messages (200 → 300) in 10 s.
    assert meter.readings[0].at == 10.0
    assert meter.rate == pytest.approx(10.0)


def test_meter_has_no_rate_before_two_readings_and_a_same_time_reading_replaces() -> None:
    meter = Meter()
    meter.add_reading(Reading(5.0, 0, 0))
    assert meter.rate is None
    meter.add_reading(Reading(5.0, 3, 3))
    assert len(meter.readings) == 1 and meter.readings[0].done == 3
    meter.add_reading(Reading(7.0, 9, 9))
    assert meter.rate == pytest.approx(3.0)


def test_meter_rate_never_goes_negative() -> None:
    meter = Meter()
    meter.add_reading(Reading(0.0, 10, 10))
    meter.add_reading(Reading(1.0, 10, 4))  # counts can lag (a record expired)
    assert meter.rate == 0.0


def test_meter_eta_is_what_is_left_at_the_rate_only_while_running() -> None:
    meter = Meter()
    meter.add_reading(Reading(0.0, 0, 0))
    meter.add_reading(Reading(2.0, 40, 10))  # 5 msg/s
    running = info(messages={"sent": 30})  # 30 of 60 done
    assert meter.eta(running) == pytest.approx(6.0)
    assert meter.eta(replace(running, state=CampaignState.PAUSED)) is None
    assert meter.eta(replace(running, state=CampaignState.WAITING)) is None
    assert meter.eta(replace(running, state=CampaignState.FINISHED)) == 0.0
    assert meter.eta(info(messages={"sent": 60})) == 0.0
    still = Meter()
    still.add_reading(Reading(0.0, 0, 0))
    still.add_reading(Reading(1.0, 0, 0))
    assert still.eta(running) is None  # nothing moves: no honest ETA


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.4, "0s"), (45, "45s"), (185, "3m05s"), (7380, "2h03m"), (-3, "0s")],
)
def test_duration_reads_like_a_clock_on_a_wall(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_clock_shows_minutes_and_seconds_then_hours() -> None:
    assert (clock(12.9), clock(3725)) == ("00:12", "1:02:05")


def test_counts_follow_the_way_of_a_message_and_skip_zeros() -> None:
    assert counts({"delivered": 3, "accepted": 1, "failed": 0, "sending": 2}) == (
        "accepted 1, sending 2, delivered 3"
    )
    assert counts({}) == "none"
    assert skipped({"invalid": 1, "duplicate": 2}) == "3 (duplicate 2, invalid 1)"
    assert skipped({}) == "0"


def test_progress_line_says_state_progress_rate_and_eta() -> None:
    meter = Meter()
    meter.add_reading(Reading(0.0, 30, 25))
    meter.add_reading(Reading(2.0, 40, 33))  # 4 msg/s; 27 of 60 left
    line = progress_line(info(), meter, now=T0 + 13)
    assert line == (
        "[00:12] running | handed out 40/60 | done 33/60 (55%) | 4.0 msg/s | ETA 7s | "
        "accepted 5, sending 2, sent 20, delivered 13"
    )


def test_progress_line_of_a_paused_campaign_has_no_eta() -> None:
    line = progress_line(info(CampaignState.PAUSED), Meter(), now=T0 + 13)
    assert "] paused | " in line and "| — msg/s | ETA — |" in line


def test_state_text_says_what_an_operator_waits_for() -> None:
    scheduled = info(CampaignState.SCHEDULED, start_at=T0 + 3600)
    assert state_text(scheduled, T0) == "scheduled: starts 2026-01-01 01:00:00 UTC (in 1h00m)"
    refused = replace(info(CampaignState.CANCELLED), reason="balance too low: wa needs 60, has 3")
    assert state_text(refused, T0) == "cancelled: balance too low: wa needs 60, has 3"
    assert state_text(info(CampaignState.FINISHED), T0) == "finished"


def test_status_and_final_lines_name_the_counts_and_the_report() -> None:
    lines = status_lines(info(rate_share=0.5, validity_s=3600), T0 + 13)
    assert lines[0] == 'campaign 0190aabbccddeeff0011223344 "promo" on wa: running'
    assert lines[1] == "  rows       60 accepted, skipped 3 (duplicate 2, invalid 1)"
    assert lines[2] == "  progress   handed out 40/60 (queued 5), done 33/60 (55%)"
    assert "50% of the account's rate" in lines[5] and "validity 3600 s" in lines[5]
    done = final_lines(info(CampaignState.FINISHED, cursor=60, messages={"delivered": 60}))
    assert done == [
        "campaign 0190aabbccddeeff0011223344 finished: 60 rows: delivered 60; "
        "skipped 3 (duplicate 2, invalid 1)",
        "per-row report: nusaworker campaign report 0190aabbccddeeff0011223344",
    ]
    waiting = final_lines(info(CampaignState.FINISHED, messages={"sent": 50, "read": 10}))
    assert waiting[1].startswith("50 sent messages still wait for their delivery reports")


def test_live_view_draws_both_bars_the_counts_rate_and_state() -> None:
    meter = Meter()
    meter.add_reading(Reading(0.0, 30, 25))
    meter.add_reading(Reading(2.0, 40, 33))
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    console.print(view(info(), meter, T0 + 13))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "running" in text
    assert "handed out" in text and "40/60  66%" in text
    assert "done" in text and "33/60  55%" in text
    assert "4.0 msg/s (last 10 s) · ETA 7s · elapsed 00:12" in text
    assert "accepted 5 · sending 2 · sent 20 · delivered 13" in text
    assert "Ctrl-C stops following" in text
    console.file = io.StringIO()
    console.print(view(info(CampaignState.FINISHED, cursor=60), meter, T0 + 13))
    assert "Ctrl-C" not in console.file.getvalue()  # type: ignore[attr-defined]
