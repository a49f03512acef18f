"""The harness's gap arithmetic (the measuring itself is an integration test)."""

from __future__ import annotations

import pytest

from nusaworker.bench.pacing_harness import Hit, delay_figures, gap_figures


def test_gap_figures_counts_violations_and_rate_across_unsorted_timestamps() -> None:
    stamps = [0.104, 0.0, 0.052, 0.150, 0.2]  # gaps 52, 52, 46, 50 ms
    figures = gap_figures(stamps, min_interval_ms=50.0)
    assert figures["hits"] == 5
    assert figures["min_gap_ms"] == pytest.approx(46.0)
    assert figures["violations"] == 1
    assert figures["achieved_rate_per_s"] == pytest.approx(4 / 0.2)


def test_gap_figures_of_a_single_hit_has_no_gaps() -> None:
    figures = gap_figures([1.0], min_interval_ms=50.0)
    assert figures["hits"] == 1
    assert figures["violations"] == 0
    assert figures["min_gap_ms"] is None


def test_delay_figures_explains_a_violation_by_the_earlier_hits_delays() -> None:
    hits = [
        Hit(returned_at=0.0, checked_at=0.0, lateness_s=0.0002),
        Hit(returned_at=0.0523, checked_at=0.0503, lateness_s=0.0009),  # 2 ms after its check
        Hit(returned_at=0.1014, checked_at=0.1014, lateness_s=0.0001),
    ]
    figures = delay_figures(hits, min_interval_ms=50.0)
    assert figures["max_post_check_ms"] == pytest.approx(2.0)
    assert figures["max_lateness_ms"] == pytest.approx(0.9)
    [detail] = figures["violation_details"]
    assert detail["gap_ms"] == pytest.approx(49.1)
    assert detail["earlier_post_check_ms"] == pytest.approx(2.0)
    assert detail["earlier_lateness_ms"] == pytest.approx(0.9)
