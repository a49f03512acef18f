"""hits/s from the turn hash's per-second counts (pure arithmetic, no Redis)."""

from __future__ import annotations

import pytest

from nusaworker.pacing.readout import hits_per_s

S = 1_800_000_000  # a second of Redis's clock
US = 1_000_000


def test_hits_per_s_counts_the_current_second_and_what_is_left_of_the_previous() -> None:
    # 20 hits in the previous second, 5 so far in this one, a quarter of it elapsed: the last
    # second holds the 5 and three quarters of the 20.
    assert hits_per_s(S, 5, 20, S * US + US // 4) == pytest.approx(5 + 15)


def test_hits_per_s_of_a_bucket_written_in_the_second_before() -> None:
    # Nothing counted yet in this second: the last write's second is now the previous one.
    assert hits_per_s(S - 1, 20, 18, S * US + US // 2) == pytest.approx(10)


def test_hits_per_s_is_zero_for_an_idle_account() -> None:
    assert hits_per_s(S - 2, 20, 20, S * US) == 0.0
    assert hits_per_s(0, 0, 0, S * US) == 0.0


def test_hits_per_s_at_a_steady_rate_reads_that_rate() -> None:
    # 20 hits/s for a while: whatever the instant, the estimate stays within one hit of 20.
    for elapsed in range(0, US, US // 10):
        so_far = elapsed * 20 // US
        assert hits_per_s(S, so_far, 20, S * US + elapsed) == pytest.approx(20, abs=1)
