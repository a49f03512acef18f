"""Recurring campaigns, the pure part: definitions refused at the edge, and which fire time is
due when (latest ≤ now, from created_at on, within the lateness bound, DST)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nusaworker.campaigns import CampaignInputError, RecurringCampaign
from nusaworker.campaigns.recurring import CLAIM_PERIODS, MAX_LATENESS_S, SCHEDULE
from nusaworker.keys import RECURRING_RUN_TTL_CAP_S
from nusaworker.testing.clock import FakeClock

JAKARTA = ZoneInfo("Asia/Jakarta")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> float:
    return datetime(*args, tzinfo=zone, fold=fold).timestamp()  # type: ignore[misc]


def defn(**overrides: Any) -> RecurringCampaign:
    fields: dict[str, Any] = {
        "name": "morning-promo",
        "cron": "0 9 * * *",
        "tz": "Asia/Jakarta",
        "recipients": "json:loads",
        "campaign": {"channel": "wa", "template": "Hi {name}"},
        "created_at": utc(2025, 1, 1),
    }
    fields.update(overrides)
    return RecurringCampaign(**fields)


# -- definitions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Morning", "name: 'Morning' is not 1-64 characters"),
        ("name", "", "name: '' is not 1-64"),
        ("name", "x" * 65, "name:"),
        ("name", "a b", "name:"),
        ("cron", "0 9 * *", "cron: '0 9 \\* \\*' is not 5 fields"),
        ("cron", "0 0 9 * * *", "cron: .* is not 5 fields"),
        ("cron", "61 9 * * *", "cron: .* is not a valid cron"),
        ("cron", "R 9 * * *", "cron: .* is not a valid cron"),
        ("cron", "H 9 * * *", "cron: .* is not a valid cron"),
        ("cron", "0 0 30 2 *", "cron: .* never fires"),
        ("tz", "Asia/Atlantis", "tz: unknown time zone 'Asia/Atlantis'"),
        ("recipients", "myapp.recipients", "recipients: .* 'package.module:callable'"),
        ("recipients", "myapp:rows()", "recipients:"),
        ("campaign", {"at": float("nan")}, "campaign: the campaign options are not JSON"),
        ("campaign", {"fn": print}, "campaign: the campaign options are not JSON"),
        ("created_at", -1.0, "created_at:"),
        ("enabled", "maybe", "enabled:"),
    ],
)
def test_recurring_definition_refused_naming_the_field(
    field: str, value: Any, message: str
) -> None:
    with pytest.raises(CampaignInputError, match=f"^recurring campaign: {message}"):
        defn(**{field: value})


def test_recurring_definition_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(CampaignInputError, match="colour: Extra inputs"):
        defn(colour="blue")
    with pytest.raises(CampaignInputError, match="recipients: Field required"):
        RecurringCampaign(name="x", cron="* * * * *", tz="UTC")


def test_recurring_definition_json_round_trip() -> None:
    original = defn(cron=" 0  9 * * mon-fri ", enabled=False)
    assert original.cron == "0 9 * * mon-fri"
    assert RecurringCampaign.from_json(original.to_json()) == original
    assert json.loads(original.to_json())["campaign"] == {"channel": "wa", "template": "Hi {name}"}
    with pytest.raises(CampaignInputError, match="not JSON"):
        RecurringCampaign.from_json("{")
    with pytest.raises(CampaignInputError, match="JSON object"):
        RecurringCampaign.from_json("[]")


def test_recurring_load_recipients_imports_the_callable_at_call_time() -> None:
    assert defn(recipients="json:loads").load_recipients() is json.loads
    assert defn(recipients="json:JSONDecoder.decode").load_recipients() is json.JSONDecoder.decode
    with pytest.raises(CampaignInputError, match="cannot import 'nusaworker_no_such_module'"):
        defn(recipients="nusaworker_no_such_module:rows").load_recipients()
    with pytest.raises(CampaignInputError, match="'json' has no 'rows'"):
        defn(recipients="json:rows").load_recipients()
    with pytest.raises(CampaignInputError, match="is not callable"):
        defn(recipients="json:__all__").load_recipients()


# -- which fire time is due --------------------------------------------------------------------


def test_recurring_every_minute_is_due_from_the_minute_on() -> None:
    every_minute = defn(cron="* * * * *", tz="UTC")
    clock = FakeClock(utc(2025, 6, 1, 12, 0, 30))
    assert every_minute.due_at(clock()) == utc(2025, 6, 1, 12)
    clock.now = utc(2025, 6, 1, 12, 1)  # exactly at the fire time: that one
    assert every_minute.due_at(clock()) == utc(2025, 6, 1, 12, 1)
    clock.advance(59.999)
    assert every_minute.due_at(clock()) == utc(2025, 6, 1, 12, 1)


def test_recurring_daily_in_jakarta_is_due_for_an_hour() -> None:
    daily = defn()  # 09:00 Asia/Jakarta = 02:00 UTC
    nine = local(JAKARTA, 2025, 6, 2, 9)
    assert nine == utc(2025, 6, 2, 2)
    assert daily.due_at(nine - 1) is None  # yesterday's is 23 h old
    assert daily.due_at(nine) == nine
    assert daily.due_at(nine + MAX_LATENESS_S - 0.001) == nine
    assert daily.due_at(nine + MAX_LATENESS_S) is None  # too late: wait for tomorrow
    assert daily.due_at(nine + 86_400 + 5) == nine + 86_400


def test_recurring_fires_only_from_created_at_on() -> None:
    created = local(JAKARTA, 2025, 6, 2, 9, 30)
    daily = defn(created_at=created)
    assert daily.due_at(created + 60) is None  # 09:00 was before it existed
    assert daily.due_at(local(JAKARTA, 2025, 6, 3, 9)) == local(JAKARTA, 2025, 6, 3, 9)
    exactly = defn(created_at=local(JAKARTA, 2025, 6, 2, 9))
    assert exactly.due_at(local(JAKARTA, 2025, 6, 2, 9, 1)) == local(JAKARTA, 2025, 6, 2, 9)


def test_recurring_a_beat_down_for_a_day_runs_only_the_latest_fire_time() -> None:
    hourly = defn(cron="0 * * * *", tz="UTC")
    back = utc(2025, 6, 3, 14, 20)  # down since the day before
    assert hourly.due_at(back) == utc(2025, 6, 3, 14)  # not 13:00, 12:00, …
    daily = defn(cron="0 9 * * *", tz="UTC")
    assert daily.due_at(utc(2025, 6, 3, 14, 20)) is None  # 09:00 is 5 h late: skipped


def test_recurring_disabled_is_never_due() -> None:
    assert defn(cron="* * * * *", enabled=False).due_at(utc(2025, 6, 1, 12)) is None


def test_recurring_spring_forward_fires_at_the_jump() -> None:
    # Berlin 2025-03-30: 02:00 CET (01:00 UTC) becomes 03:00 CEST; 02:30 never happens.
    nightly = defn(cron="30 2 * * *", tz="Europe/Berlin")
    assert nightly.due_at(utc(2025, 3, 30, 1)) == utc(2025, 3, 30, 1)
    assert nightly.due_at(utc(2025, 3, 31, 0, 31)) == local(BERLIN, 2025, 3, 31, 2, 30)


def test_recurring_fall_back_fires_a_repeated_wall_time_once() -> None:
    # Berlin 2025-10-26: 03:00 CEST (01:00 UTC) becomes 02:00 CET; 02:30 happens twice.
    nightly = defn(cron="30 2 * * *", tz="Europe/Berlin")
    first = local(BERLIN, 2025, 10, 26, 2, 30, fold=0)
    second = local(BERLIN, 2025, 10, 26, 2, 30, fold=1)
    assert second - first == 3600
    assert nightly.due_at(first) == first
    assert nightly.latest_fire(second) == first  # the same fire time as the first
    assert nightly.due_at(second) is None  # and by then an hour late


def test_recurring_every_half_hour_pauses_for_the_repeated_hour() -> None:
    half_hourly = defn(cron="*/30 * * * *", tz="Europe/Berlin")
    fired = []
    at = utc(2025, 10, 25, 23, 50)  # 01:50 CEST
    while at < utc(2025, 10, 26, 3):
        due = half_hourly.due_at(at)
        if due is not None and due not in fired:
            fired.append(due)
        at += 60
    assert [datetime.fromtimestamp(f, BERLIN).strftime("%H:%M%z") for f in fired] == [
        "01:30+0200",
        "02:00+0200",
        "02:30+0200",
        "03:00+0100",
        "03:30+0100",
    ]


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.sampled_from(["* * * * *", "*/7 * * * *", "0 * * * *", "0 9 * * *", "15 2 * * 1-5"]),
    st.sampled_from(["UTC", "Asia/Jakarta", "Europe/Berlin", "America/New_York"]),
    st.floats(min_value=utc(2024, 1, 1), max_value=utc(2027, 1, 1)),
)
def test_recurring_due_is_the_latest_fire_time_within_the_bound(
    cron: str, tz: str, now: float
) -> None:
    recurring = defn(cron=cron, tz=tz, created_at=utc(2023, 1, 1))
    fire = recurring.latest_fire(now)
    assert fire <= now
    following = recurring.next_fire(fire)
    # Nothing fires between it and now, but the repeat of a wall time when clocks go back.
    assert following > now or datetime.fromtimestamp(following, ZoneInfo(tz)).fold == 1
    due = recurring.due_at(now)
    assert due is None or (due == fire and now - due < MAX_LATENESS_S)
    # The claim outlives the time the fire time can be due: a period, at most the bound.
    period = recurring.next_fire(fire) - fire
    assert recurring.claim_ttl_s(fire) >= min(period, MAX_LATENESS_S)


def test_recurring_claim_lives_three_periods_capped() -> None:
    fire = utc(2025, 6, 1, 12)
    assert defn(cron="* * * * *").claim_ttl_s(fire) == CLAIM_PERIODS * 60
    assert defn(cron="*/5 * * * *").claim_ttl_s(fire) == CLAIM_PERIODS * 300
    assert defn(cron="0 * * * *").claim_ttl_s(fire) == RECURRING_RUN_TTL_CAP_S
    assert defn(cron="0 9 * * *").claim_ttl_s(fire) == RECURRING_RUN_TTL_CAP_S
    assert RECURRING_RUN_TTL_CAP_S >= MAX_LATENESS_S


def test_recurring_beat_entry() -> None:
    entry = SCHEDULE["campaigns.recurring"]
    assert entry["task"] == "nusaworker.housekeeping.recurring_campaigns"
    assert entry["schedule"] == 5.0
    assert entry["options"]["expires"] == 10.0
