"""Which errors pause which channels, breaker state encoding, and the probe's decision: pure."""

from __future__ import annotations

import datetime as dt

import pytest

from nusaworker.credit.breakers import CHANNELS, BreakerState, parse_channels, trip_plan
from nusaworker.credit.probe import WalletReading, may_close
from nusaworker.providers.errors import (
    AuthError,
    InsufficientCredit,
    PermanentError,
    RateLimited,
    TransientError,
)

TODAY = dt.date(2025, 6, 1)
JSON_API_CHANNELS = ("wa", "wa_media", "wa_official", "wa_official_reply", "check")
SMS_API_CHANNELS = ("sms", "sms_group")


@pytest.mark.parametrize(
    ("channel", "error", "channels", "reason"),
    [
        ("wa", AuthError("HTTP 401"), JSON_API_CHANNELS, "auth"),
        ("check", AuthError("HTTP 403 not whitelisted"), JSON_API_CHANNELS, "auth"),
        ("wa", InsufficientCredit("HTTP 402"), ("wa", "wa_media", "wa_official"), "credit"),
        ("wa_official_reply", InsufficientCredit("402"),
         ("wa", "wa_media", "wa_official", "wa_official_reply"), "credit"),
        ("sms", AuthError("SMS -5"), SMS_API_CHANNELS, "auth"),
        ("sms", AuthError("SMS -40", provider_code=-40), SMS_API_CHANNELS, "auth"),
        ("sms", InsufficientCredit("SMS -2"), SMS_API_CHANNELS, "credit"),
        ("sms", InsufficientCredit("SMS -7 balance expired"), SMS_API_CHANNELS, "credit"),
        ("sms_group", InsufficientCredit("SMS -2"), SMS_API_CHANNELS, "credit"),
    ],
)  # fmt: skip
def test_trip_plan_pauses_the_channels_that_share_the_failure(
    channel: str, error: Exception, channels: tuple[str, ...], reason: str
) -> None:
    assert trip_plan(channel, error) == (channels, reason)


@pytest.mark.parametrize(
    "error", [TransientError("503"), RateLimited("429"), PermanentError("422"), ValueError("x")]
)
def test_trip_plan_ignores_errors_that_are_not_about_the_account(error: Exception) -> None:
    assert trip_plan("wa", error) is None


def test_parse_channels_expands_all_and_refuses_unknown_names() -> None:
    assert parse_channels(["sms", "wa", "sms"]) == ("sms", "wa")
    assert parse_channels(["all"]) == CHANNELS
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        parse_channels(["fax"])


def test_breaker_state_round_trips_and_an_unreadable_value_stays_open() -> None:
    state = BreakerState("wa", True, reason="credit", since=12.5, error="InsufficientCredit: 402")
    assert BreakerState.from_json("wa", state.to_json()) == state
    assert BreakerState.from_json("wa", None) == BreakerState("wa", False)
    garbled = BreakerState.from_json("sms", b"{not json")
    assert garbled.open and garbled.reason == "manual"  # fail safe: stay paused


def open_state(channel: str, reason: str) -> BreakerState:
    return BreakerState(channel, True, reason=reason, since=1.0)


@pytest.mark.parametrize(
    ("state", "reading", "closes"),
    [
        (open_state("wa", "auth"), WalletReading(0.0, None), True),  # key works again
        (open_state("wa", "auth"), None, False),  # the call failed: still refused
        (open_state("wa", "credit"), WalletReading(0.0, dt.date(2027, 1, 1)), False),
        (open_state("wa", "credit"), WalletReading(1.0, dt.date(2027, 1, 1)), True),
        (open_state("wa_media", "credit"), WalletReading(1.0, None), False),  # media costs 2
        (open_state("wa_media", "credit"), WalletReading(2.0, None), True),
        (open_state("wa", "credit"), WalletReading(500.0, dt.date(2025, 5, 31)), False),  # expired
        (open_state("wa", "credit"), WalletReading(500.0, TODAY), True),  # valid through today
        (open_state("sms", "credit"), WalletReading(None, None), False),
        (open_state("sms", "manual"), WalletReading(999.0, None), False),  # only an operator
        (BreakerState("wa", False), WalletReading(999.0, None), False),
    ],
)
def test_may_close_judges_each_breaker_by_its_reason(
    state: BreakerState, reading: WalletReading | None, closes: bool
) -> None:
    assert may_close(state, reading, today=TODAY, min_credit=1.0) is closes


def test_may_close_honours_the_resume_floor() -> None:
    state = open_state("sms", "credit")
    assert not may_close(state, WalletReading(40.0, None), today=TODAY, min_credit=50.0)
    assert may_close(state, WalletReading(50.0, None), today=TODAY, min_credit=50.0)
