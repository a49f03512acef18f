"""Retry budgets, backoff and the retry decision: pure functions, no Redis, no clock."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from nusaworker.ledger import MessageState
from nusaworker.retries import RetryBudget, RetryRules, decide
from nusaworker.routing import PRIORITIES
from nusaworker.settings import Settings

S = MessageState
RULES = RetryRules.defaults()
NOW = 1_700_000_000.0
ERROR = "TransientError: HTTP 503 service unavailable"

# What decide() sees of each error class that delivery retries: its "Class: message" text.
# The class is not an input of the decision (delivery already chose to retry); the text must
# come back as the last reason whatever the class.
RETRIED_ERRORS = [
    "RateLimited: HTTP 429 too many requests",
    "TransientError: HTTP 503 service unavailable",
    "GateUnavailable: redis down",
    "AuthError: HTTP 401 (no circuit)",
    "InsufficientCredit: HTTP 402 (no circuit)",
]


def ceiling(budget: RetryBudget, attempt: int) -> float:
    return min(budget.backoff_cap_s, budget.backoff_base_s * 2 ** (attempt - 1))


@pytest.mark.parametrize("priority", PRIORITIES)
def test_retry_budget_delay_is_full_jitter_under_the_exponential_ceiling(priority: str) -> None:
    budget = RULES.budget(priority)
    for attempt in range(1, 40):
        assert budget.delay(attempt, rand=lambda: 0.0) == 0.0
        top = budget.delay(attempt, rand=lambda: 0.999999)
        assert top == pytest.approx(ceiling(budget, attempt), rel=1e-5)
        assert top <= budget.backoff_cap_s


@pytest.mark.parametrize(("priority", "error"), list(itertools.product(PRIORITIES, RETRIED_ERRORS)))
def test_decide_retries_every_attempt_within_the_budget(priority: str, error: str) -> None:
    budget = RULES.budget(priority)
    for attempt in range(1, budget.max_attempts):
        for rand in (0.0, 0.5, 0.999):
            decision = decide(
                budget,
                attempts=attempt,
                error=error,
                created_at=NOW,
                now=NOW,
                rand=lambda r=rand: r,
            )
            assert decision.state is S.ACCEPTED and decision.retries
            assert decision.retry_at is not None
            assert NOW <= decision.retry_at <= NOW + ceiling(budget, attempt)
            assert decision.reason == error


@pytest.mark.parametrize(("priority", "error"), list(itertools.product(PRIORITIES, RETRIED_ERRORS)))
def test_decide_fails_with_the_last_reason_once_the_attempts_are_spent(
    priority: str, error: str
) -> None:
    budget = RULES.budget(priority)
    for attempt in (budget.max_attempts, budget.max_attempts + 1, 1000):
        decision = decide(budget, attempts=attempt, error=error, created_at=NOW - 42, now=NOW)
        assert decision.state is S.FAILED and decision.retry_at is None
        assert decision.reason.startswith(error)
        assert f"gave up after {attempt} attempt(s) over 42 s" in decision.reason


@pytest.mark.parametrize("priority", PRIORITIES)
def test_decide_fails_when_the_retry_would_come_past_the_max_age(priority: str) -> None:
    budget = RULES.budget(priority)
    created = NOW - budget.max_age_s + 0.5  # a retry half a second from now is still in time
    inside = decide(budget, attempts=1, error=ERROR, created_at=created, now=NOW, rand=lambda: 0.0)
    past = decide(budget, attempts=1, error=ERROR, created_at=created, now=NOW, rand=lambda: 0.99)
    assert inside.state is S.ACCEPTED
    assert past.state is S.FAILED and past.reason.startswith(ERROR)


@pytest.mark.parametrize("priority", PRIORITIES)
def test_decide_expires_when_the_retry_would_land_past_the_validity(priority: str) -> None:
    budget = RULES.budget(priority)
    expires = NOW + 0.5 * budget.backoff_base_s
    early = decide(
        budget,
        attempts=1,
        error=ERROR,
        created_at=NOW - 10,
        now=NOW,
        expires_at=expires,
        validity_s=10,
        rand=lambda: 0.1,
    )
    late = decide(
        budget,
        attempts=1,
        error=ERROR,
        created_at=NOW - 10,
        now=NOW,
        expires_at=expires,
        validity_s=10,
        rand=lambda: 0.9,
    )
    assert early.state is S.ACCEPTED and early.retry_at is not None and early.retry_at < expires
    assert late.state is S.EXPIRED and late.retry_at is None
    assert late.reason == f"Expired: not sent within its validity of 10 s; last error: {ERROR}"


@pytest.mark.parametrize(("priority", "attempts"), list(itertools.product(PRIORITIES, (1, 2, 99))))
def test_decide_expires_a_message_already_past_its_validity_whatever_its_budget(
    priority: str, attempts: int
) -> None:
    decision = decide(
        RULES.budget(priority),
        attempts=attempts,
        error=ERROR,
        created_at=NOW - 300,
        now=NOW,
        expires_at=NOW,
        validity_s=300,
    )
    assert decision.state is S.EXPIRED
    assert decision.reason.startswith("Expired: not sent within its validity of 300 s")


def test_retry_rules_defaults_are_the_default_settings() -> None:
    assert RetryRules.from_settings(Settings()) == RetryRules.defaults()


def test_retry_rules_default_validity_is_otp_only() -> None:
    assert RULES.validity("otp") == 300.0
    assert RULES.validity("normal") is None
    assert RULES.validity("bulk") is None


def test_retry_rules_otp_budget_fits_its_validity_and_the_others_span_minutes() -> None:
    # Every OTP retry of the default budget comes well within the default validity, even at
    # the top of each jitter range: an OTP fails for its budget, not for lateness.
    otp = RULES.budget("otp")
    worst = sum(ceiling(otp, n) for n in range(1, otp.max_attempts))
    assert otp.max_attempts <= 6 and worst < 0.25 * (RULES.validity("otp") or 0)
    for priority in ("normal", "bulk"):
        budget = RULES.budget(priority)
        spread = sum(ceiling(budget, n) for n in range(1, budget.max_attempts))
        assert 8 <= budget.max_attempts <= 10
        assert 1800 <= spread <= budget.max_age_s  # tens of minutes of trying, within the age


def test_settings_per_priority_values_override_only_what_they_name() -> None:
    settings = Settings(retry_max_attempts={"bulk": 3}, validity_s={"normal": 3600})
    rules = RetryRules.from_settings(settings)
    assert [rules.budget(p).max_attempts for p in PRIORITIES] == [5, 10, 3]
    assert (rules.validity("otp"), rules.validity("normal")) == (300.0, 3600.0)


@pytest.mark.parametrize(
    "values",
    [
        {"retry_max_attempts": {"urgent": 3}},
        {"retry_max_attempts": {"otp": 0}},
        {"retry_max_age_s": {"bulk": -1}},
        {"validity_s": {"otp": -5}},
    ],
)
def test_settings_per_priority_values_reject_unknown_priorities_and_bad_values(
    values: dict[str, dict[str, float]],
) -> None:
    with pytest.raises(ValidationError):
        Settings(**values)  # type: ignore[arg-type]
