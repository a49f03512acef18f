"""Retry rules as pure functions: what is retried, how Retry-After is read, backoff bounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from nusaworker.errors import GateUnavailable
from nusaworker.providers.errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    RateLimited,
    TransientError,
)
from nusaworker.providers.retry import (
    backoff,
    parse_retry_after,
    parse_retry_after_value,
    should_retry,
    wait_seconds,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RateLimited("x"), True),
        (TransientError("x"), True),
        (PermanentError("x"), False),
        (AuthError("x"), False),
        (InsufficientCredit("x"), False),
        (AmbiguousOutcome("x"), False),
        (GateUnavailable("redis down"), False),
        (ValueError("bug"), False),
    ],
)
def test_should_retry_decides_from_class(exc: BaseException, expected: bool) -> None:
    assert should_retry(exc) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_value_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after_value(value, now=NOW) == expected


def test_parse_retry_after_value_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 7, tz=UTC)
    assert parse_retry_after_value(format_datetime(when, usegmt=True), now=NOW) == 7.0
    past = datetime.fromtimestamp(NOW - 60, tz=UTC)
    assert parse_retry_after_value(format_datetime(past, usegmt=True), now=NOW) == 0.0


def test_parse_retry_after_headers_ms_wins_and_names_are_case_insensitive() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}, now=NOW) == 0.25
    assert parse_retry_after({"RETRY-AFTER": "2"}, now=NOW) == 2.0
    assert parse_retry_after({"Retry-After-Ms": "junk", "Retry-After": "4"}, now=NOW) == 4.0
    assert parse_retry_after({}, now=NOW) is None


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_stays_within_exponential_cap(attempt: int) -> None:
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert backoff(attempt, rand=lambda: 0.0) == 0.0
    assert backoff(attempt, rand=lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
    rng = random.Random(attempt)
    for _ in range(200):
        assert 0.0 <= backoff(attempt, rand=rng.random) <= ceiling


def test_backoff_respects_custom_base_and_cap() -> None:
    assert backoff(10, base=0.1, cap=1.0, rand=lambda: 0.5) == 0.5
    assert backoff(1, base=0.1, cap=1.0, rand=lambda: 0.5) == pytest.approx(0.05)


def test_wait_seconds_honours_retry_after_else_backs_off() -> None:
    assert wait_seconds(RateLimited("x", retry_after=3.0), 1, rand=lambda: 0.5) == 3.0
    assert wait_seconds(RateLimited("x"), 2, rand=lambda: 0.5) == pytest.approx(0.5)
    assert wait_seconds(TransientError("x"), 3, rand=lambda: 0.5) == pytest.approx(1.0)
