"""Sending windows: the zone's wall clock decides, across DST, overnight, to the boundary."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nusaworker.campaigns import CampaignInputError, SendingWindow


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


# -- forms -------------------------------------------------------------------------------------


def test_window_parse_reads_the_cli_form() -> None:
    window = SendingWindow.parse("08:00-20:00 Asia/Jakarta")
    assert window == SendingWindow("08:00", "20:00", "Asia/Jakarta")
    assert window.describe() == "08:00\u201320:00 Asia/Jakarta"
    assert SendingWindow.parse(window.describe()) == window
    assert SendingWindow.parse(" 8:00 - 9:30 ", default_tz="Europe/Berlin") == SendingWindow(
        "08:00", "09:30", "Europe/Berlin"
    )
    assert SendingWindow.parse("22:00-06:00").tz == "UTC"


def test_window_json_round_trip() -> None:
    window = SendingWindow("22:00", "06:00", "America/New_York")
    assert window.to_json() == {"start": "22:00", "end": "06:00", "tz": "America/New_York"}
    assert SendingWindow.from_json(window.to_json()) == window
    assert window.overnight and not SendingWindow("06:00", "22:00", "UTC").overnight


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda: SendingWindow("24:00", "06:00", "UTC"), "start"),
        (lambda: SendingWindow("08:00", "8:60", "UTC"), "end"),
        (lambda: SendingWindow("8h", "20:00", "UTC"), "start"),
        (lambda: SendingWindow("08:00:00", "20:00", "UTC"), "start"),
        (lambda: SendingWindow("08:00", "20:00", "Mars/Olympus_Mons"), "tz"),
        (lambda: SendingWindow("08:00", "20:00", "../../etc/passwd"), "tz"),
        (lambda: SendingWindow("08:00", "20:00", ""), "tz"),
        (lambda: SendingWindow("08:00", "08:00", "UTC"), "always open"),
        (lambda: SendingWindow.parse("08:00 to 20:00"), "HH:MM-HH:MM"),
        (lambda: SendingWindow.parse("08:00-20:00 Nowhere/Town"), "tz"),
        (lambda: SendingWindow.from_json({"start": "08:00", "end": "20:00"}), "start, end and tz"),
        (lambda: SendingWindow.from_json("08:00-20:00"), "start, end and tz"),
    ],
)
def test_window_refuses_bad_input_naming_the_field(make: object, names: str) -> None:
    with pytest.raises(CampaignInputError, match=names):
        make()  # type: ignore[operator]


# -- boundaries, overnight ---------------------------------------------------------------------


def test_window_boundaries_start_open_end_closed() -> None:
    window = SendingWindow("08:00", "20:00", "Asia/Jakarta")  # UTC+7, no DST
    opens, closes = utc(2025, 5, 1, 1), utc(2025, 5, 1, 13)  # 08:00 and 20:00 in Jakarta
    assert window.is_open(opens) and not window.is_open(opens - 1e-6)
    assert window.is_open(closes - 1e-6) and not window.is_open(closes)
    assert window.next_open(opens - 1e-6) == opens
    assert window.next_open(opens) == opens
    assert window.next_close(opens) == closes
    assert window.next_close(closes - 1e-6) == closes
    assert window.next_close(closes) == closes  # closed then: the instant itself
    assert window.next_open(closes) == opens + 86_400


def test_window_overnight_spans_midnight() -> None:
    window = SendingWindow("22:00", "06:00", "UTC")
    assert window.is_open(utc(2025, 1, 1, 23)) and window.is_open(utc(2025, 1, 2, 0))
    assert window.is_open(utc(2025, 1, 2, 5, 59)) and not window.is_open(utc(2025, 1, 2, 6))
    assert not window.is_open(utc(2025, 1, 2, 12)) and window.is_open(utc(2025, 1, 2, 22))
    assert window.next_open(utc(2025, 1, 2, 12)) == utc(2025, 1, 2, 22)
    assert window.next_close(utc(2025, 1, 1, 23)) == utc(2025, 1, 2, 6)
    assert window.next_close(utc(2025, 1, 2, 0)) == utc(2025, 1, 2, 6)


def test_window_ending_at_midnight() -> None:
    window = SendingWindow("20:00", "00:00", "UTC")
    assert window.is_open(utc(2025, 1, 1, 23, 59)) and not window.is_open(utc(2025, 1, 2))
    assert window.next_close(utc(2025, 1, 1, 21)) == utc(2025, 1, 2)


# -- DST ---------------------------------------------------------------------------------------


def test_window_spring_forward_opens_at_the_jump() -> None:
    # Berlin, 2025-03-30: 02:00 CET (01:00 UTC) becomes 03:00 CEST; 02:00-03:00 never happens.
    window = SendingWindow("02:00", "03:30", "Europe/Berlin")
    before = utc(2025, 3, 30, 0, 30)  # 01:30 CET
    assert not window.is_open(before)
    assert window.next_open(before) == utc(2025, 3, 30, 1)  # the jump, 03:00 CEST
    assert not window.is_open(utc(2025, 3, 30, 1) - 1)
    assert window.next_close(utc(2025, 3, 30, 1)) == utc(2025, 3, 30, 1, 30)  # 03:30 CEST
    # The day after, the whole hour and a half again (00:00-01:30 UTC).
    assert window.next_open(utc(2025, 3, 30, 2)) == utc(2025, 3, 31, 0)
    assert window.next_close(utc(2025, 3, 31, 0)) == utc(2025, 3, 31, 1, 30)


def test_window_ending_in_the_skipped_hour_closes_at_the_jump() -> None:
    window = SendingWindow("01:00", "02:30", "Europe/Berlin")
    opens = window.next_open(utc(2025, 3, 29, 23, 30))
    assert opens == utc(2025, 3, 30, 0)  # 01:00 CET
    assert window.next_close(opens) == utc(2025, 3, 30, 1)  # 02:00 CET is 03:00 CEST


def test_window_fall_back_stays_open_through_the_repeated_hour() -> None:
    # Berlin, 2025-10-26: 03:00 CEST (01:00 UTC) becomes 02:00 CET; 02:00-03:00 happens twice.
    window = SendingWindow("02:00", "03:30", "Europe/Berlin")
    opens = window.next_open(utc(2025, 10, 25, 23))
    assert opens == utc(2025, 10, 26, 0)  # the first 02:00 (CEST)
    assert window.is_open(utc(2025, 10, 26, 1))  # the second 02:00 (CET)
    assert window.next_close(opens) == utc(2025, 10, 26, 2, 30)  # 03:30 CET: 2.5 h open


def test_window_boundary_in_the_repeated_hour_is_crossed_twice() -> None:
    # New York, 2025-11-02: 02:00 EDT (06:00 UTC) becomes 01:00 EST; 01:00-02:00 twice.
    window = SendingWindow("01:15", "01:45", "America/New_York")
    spells = []
    at = utc(2025, 11, 2, 4)
    for _ in range(2):
        opens = window.next_open(at)
        at = window.next_close(opens)
        spells.append((opens, at))
    assert spells == [
        (utc(2025, 11, 2, 5, 15), utc(2025, 11, 2, 5, 45)),  # 01:15-01:45 EDT
        (utc(2025, 11, 2, 6, 15), utc(2025, 11, 2, 6, 45)),  # 01:15-01:45 EST
    ]
    # A window that contains the jump back closes when the clock goes back before its start.
    wide = SendingWindow("01:15", "03:00", "America/New_York")
    assert wide.next_close(utc(2025, 11, 2, 5, 30)) == utc(2025, 11, 2, 6)
    assert wide.next_open(utc(2025, 11, 2, 6)) == utc(2025, 11, 2, 6, 15)


def test_window_in_a_zone_with_a_half_hour_dst() -> None:
    # Lord Howe Island moves its clocks by 30 minutes: 02:00 becomes 02:30 on 2025-10-05.
    window = SendingWindow("02:10", "02:40", "Australia/Lord_Howe")
    jump = datetime(2025, 10, 5, 2, tzinfo=ZoneInfo("Australia/Lord_Howe")).timestamp()
    assert window.next_open(jump - 600) == jump  # the clock jumps into the window at 02:30
    assert window.next_close(jump) == jump + 600  # 02:40


# -- properties --------------------------------------------------------------------------------

# Zones with every kind of change: none, whole hours either way, half hours, a skipped day
# (Apia, end of 2011), DST suspended for Ramadan (Casablanca), odd offsets (Kathmandu).
ZONES = [
    "UTC",
    "Asia/Jakarta",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "Pacific/Chatham",
]
# Some of the changes of those zones, for instants drawn close to one.
TRANSITIONS = [
    utc(2025, 3, 30, 1),
    utc(2025, 10, 26, 1),
    utc(2025, 3, 9, 7),
    utc(2025, 11, 2, 6),
    utc(2011, 12, 30, 10),
    utc(2025, 4, 5, 15),
    utc(2025, 10, 4, 15, 30),
    utc(2018, 11, 4, 3),
    utc(2019, 2, 17, 2),
]

PROPERTY = settings(max_examples=300, deadline=None, database=None)
minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def windows(draw: st.DrawFn) -> SendingWindow:
    start, end = draw(minutes), draw(minutes)
    assume(start != end)
    hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in (start, end)]
    return SendingWindow(hhmm[0], hhmm[1], draw(st.sampled_from(ZONES)))


instants = st.one_of(
    st.floats(min_value=utc(2000, 1, 1), max_value=utc(2040, 1, 1)),
    st.integers(min_value=int(utc(2000, 1, 1)) // 60, max_value=int(utc(2040, 1, 1)) // 60).map(
        lambda m: float(m * 60)
    ),
    st.builds(
        lambda t, d: t + d,
        st.sampled_from(TRANSITIONS),
        st.floats(min_value=-2 * 86_400, max_value=2 * 86_400),
    ),
)


def wall_clock_open(window: SendingWindow, at: float) -> bool:
    """The definition, written the slow way: the local time of ``at``, compared as times."""
    local = datetime.fromtimestamp(at, ZoneInfo(window.tz)).time()
    start, end = time.fromisoformat(window.start), time.fromisoformat(window.end)
    return start <= local < end if start < end else (local >= start or local < end)


@PROPERTY
@given(windows(), instants)
def test_window_is_open_is_the_wall_clock_definition(window: SendingWindow, at: float) -> None:
    # Away from the last microsecond of a second, where datetime rounds the instant.
    assume(at - int(at) < 0.999_999 or at == int(at))
    assert window.is_open(at) == wall_clock_open(window, at)


@PROPERTY
@given(windows(), instants, st.lists(st.floats(0, 1), max_size=20))
def test_window_next_open_is_the_first_open_instant(
    window: SendingWindow, at: float, samples: list[float]
) -> None:
    opens = window.next_open(at)
    assert opens >= at
    assert window.is_open(opens)
    assert opens == at or not window.is_open(opens - 1e-3)
    for fraction in samples:  # nothing before it is open
        between = at + fraction * (opens - at)
        if between < opens:
            assert not window.is_open(between)


@PROPERTY
@given(windows(), instants, st.lists(st.floats(0, 1), max_size=20))
def test_window_next_close_ends_the_open_spell(
    window: SendingWindow, at: float, samples: list[float]
) -> None:
    opens = window.next_open(at)
    closes = window.next_close(opens)
    assert closes > opens
    assert not window.is_open(closes)
    assert window.is_open(closes - 1e-3)
    # A spell lasts at most a day plus the largest DST change.
    assert closes - opens <= 86_400 + 3600
    for fraction in samples:
        between = opens + fraction * (closes - opens)
        if between < closes:
            assert window.is_open(between)
    assert window.next_close(at) == (at if not window.is_open(at) else closes)


@settings(max_examples=60, deadline=None, database=None)
@given(windows(), instants)
def test_window_next_open_agrees_with_a_minute_by_minute_scan(
    window: SendingWindow, at: float
) -> None:
    # Every boundary and every change of these zones since 2000 falls on a whole minute, so
    # the first open minute found by scanning the wall-clock definition is the answer.
    first = at if wall_clock_open(window, at) else None
    minute = (int(at) // 60 + 1) * 60
    while first is None:
        if wall_clock_open(window, minute):
            first = float(minute)
        minute += 60
        assert minute - at < 3 * 86_400
    assert window.next_open(at) == first


def test_window_next_open_across_a_skipped_day() -> None:
    # Apia skipped 2011-12-30 entirely (UTC-10 to UTC+14 at midnight).
    window = SendingWindow("09:00", "10:00", "Pacific/Apia")
    before = datetime(2011, 12, 29, 12, tzinfo=ZoneInfo("Pacific/Apia")).timestamp()
    opens = window.next_open(before)
    assert datetime.fromtimestamp(opens, ZoneInfo("Pacific/Apia")) == datetime(
        2011, 12, 31, 9, tzinfo=ZoneInfo("Pacific/Apia")
    )
    assert opens - before == 21 * 3600  # 45 hours on the wall clock, 21 in fact
