"""The one backoff formula (nusaworker.backoff): bounds, cap, determinism, and its callers."""

from __future__ import annotations

import random

import pytest

from nusaworker.backoff import backoff, exponential, jittered
from nusaworker.pacing.timing import refusal_sleep_s
from nusaworker.providers import retry as client_retry
from nusaworker.retries import RetryRules
from nusaworker.tracking.webhook import BACKOFF_CAP_S as WEBHOOK_CAP_S


@pytest.mark.parametrize("attempt", [-3, 0, 1])
def test_exponential_first_attempt_is_base(attempt: int) -> None:
    assert exponential(attempt, base=0.5, cap=8.0) == 0.5


def test_exponential_doubles_until_the_cap() -> None:
    assert [exponential(n, base=0.5, cap=8.0) for n in range(1, 8)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]


def test_exponential_huge_attempt_is_the_cap() -> None:
    assert exponential(10_000, base=1.0, cap=30.0) == 30.0


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize(("base", "cap"), [(0.5, 8.0), (5.0, 1800.0), (2.0, 300.0), (0.2, 0.1)])
def test_backoff_within_zero_and_capped_ceiling(seed: int, base: float, cap: float) -> None:
    rng = random.Random(seed)
    for attempt in range(1, 40):
        wait = backoff(attempt, base=base, cap=cap, rand=rng.random)
        assert 0.0 <= wait <= min(cap, base * 2 ** (attempt - 1))
        assert wait <= cap


def test_backoff_is_full_jitter_over_the_ceiling() -> None:
    assert backoff(3, base=0.5, cap=8.0, rand=lambda: 0.0) == 0.0
    assert backoff(3, base=0.5, cap=8.0, rand=lambda: 0.5) == 1.0
    assert backoff(30, base=0.5, cap=8.0, rand=lambda: 0.5) == 4.0


def test_backoff_deterministic_with_a_seeded_rng() -> None:
    first = [backoff(n, base=1.0, cap=60.0, rand=random.Random(7).random) for n in range(1, 10)]
    again = [backoff(n, base=1.0, cap=60.0, rand=random.Random(7).random) for n in range(1, 10)]
    assert first == again


def test_backoff_spreads_a_fleet() -> None:
    rng = random.Random(1)
    waits = {backoff(4, base=1.0, cap=60.0, rand=rng.random) for _ in range(100)}
    assert len(waits) == 100
    assert min(waits) < 2.0 < 6.0 < max(waits)


def test_jittered_adds_a_bounded_spread() -> None:
    assert jittered(0.026, spread=0.005, unit=0.0) == 0.026
    assert jittered(0.026, spread=0.005, unit=0.5) == pytest.approx(0.0285)


def test_backoff_callers_keep_their_defaults() -> None:
    # The client: 0.5 s doubling to 8 s.
    assert client_retry.backoff(1, rand=lambda: 0.5) == 0.25
    assert client_retry.backoff(99, rand=lambda: 0.5) == 4.0
    # The ledger's budgets: their base, capped at 30 min.
    budget = RetryRules.defaults().budget("normal")
    assert budget.delay(1, rand=lambda: 0.5) == 0.5 * budget.backoff_base_s
    assert budget.delay(99, rand=lambda: 0.5) == 900.0
    # The event webhook's cap; the gate's refusal jitter.
    assert WEBHOOK_CAP_S == 300.0
    assert refusal_sleep_s(26_000, 0.005, 0.5) == pytest.approx(0.0285)
