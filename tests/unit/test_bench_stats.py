"""Percentiles (also with censored samples), hit-log figures and cost figures of the bench."""

from __future__ import annotations

from typing import Any

import pytest

from nusaworker.bench.stats import (
    censored_percentile,
    contention,
    cost_figures,
    count_between,
    format_latency,
    hit_figures,
    latency_summary,
    percentile,
    span_rate,
)


def test_percentile_uses_nearest_rank_without_interpolation() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_percentile_p99_of_forty_samples_is_the_largest() -> None:
    values = [10.0] * 39 + [500.0]
    assert percentile(values, 99) == 500.0
    assert percentile(values, 95) == 10.0


def test_percentile_does_not_depend_on_input_order() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


@pytest.mark.parametrize("q", [0, -1, 101])
def test_percentile_rejects_out_of_range_q(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], q)


def test_percentile_rejects_no_values() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_censored_percentile_is_exact_below_every_censored_bound() -> None:
    observed = [10.0, 20.0, 30.0]
    censored = [1000.0]
    assert censored_percentile(observed, censored, 50) == (20.0, True)


def test_censored_percentile_is_a_lower_bound_once_the_rank_reaches_censored_samples() -> None:
    observed = [10.0, 20.0, 30.0]
    censored = [1000.0]
    assert censored_percentile(observed, censored, 99) == (1000.0, False)


def test_censored_percentile_is_inexact_when_a_bound_lies_below_an_observed_value() -> None:
    # The censored sample may truly be anywhere above 15: the 3rd value is not known.
    value, exact = censored_percentile([10.0, 20.0, 30.0], [15.0], 75)
    assert exact is False
    assert value == 20.0


def test_censored_percentile_with_only_censored_samples_is_a_bound() -> None:
    assert censored_percentile([], [5.0, 7.0], 50) == (5.0, False)


def test_latency_summary_counts_and_marks_each_figure() -> None:
    summary = latency_summary([40.0, 50.0, 60.0], [9000.0])
    assert summary["count"] == 4
    assert summary["arrived"] == 3
    assert summary["censored"] == 1
    assert summary["p50_ms"] == 50.0
    assert summary["p50_exact"] is True
    assert summary["p99_ms"] == 9000.0
    assert summary["p99_exact"] is False
    assert summary["max_exact"] is False


def test_latency_summary_of_nothing_has_counts_only() -> None:
    assert latency_summary([], []) == {"count": 0, "arrived": 0, "censored": 0}


def test_format_latency_shows_bounds_exact_values_and_absence() -> None:
    summary = latency_summary([40.4, 50.0], [7000.0])
    assert format_latency(summary, "p50") == "50"
    assert format_latency(summary, "p99") == ">= 7000"
    assert format_latency({}, "p50") == "-"


def test_span_rate_counts_intervals_not_events() -> None:
    rate, span = span_rate([10.0, 10.5, 11.0])
    assert span == pytest.approx(1.0)
    assert rate == pytest.approx(2.0)


def test_span_rate_needs_two_distinct_times() -> None:
    assert span_rate([5.0]) == (None, None)
    assert span_rate([5.0, 5.0]) == (None, None)


def _hit(t: float, gap: float | None, *, status: int = 200, violation: bool = False) -> Any:
    accepted = status == 200
    return {"t": t, "gap_ms": gap, "status": status, "violation": violation, "accepted": accepted}


def test_hit_figures_reports_rate_violations_429s_and_min_gap() -> None:
    hits = [
        _hit(100.00, None),
        _hit(100.05, 50.0),
        _hit(100.06, 10.0, status=429, violation=True),
        _hit(100.11, 50.0),
        _hit(100.20, 90.0),
    ]
    figures = hit_figures(hits, rule_per_s=20.0)
    assert figures["hits"] == 5
    assert figures["accepted_sends"] == 4
    assert figures["violations"] == 1
    assert figures["http_429"] == 1
    assert figures["min_gap_ms"] == 10.0
    assert figures["hits_per_s"] == pytest.approx(4 / 0.2, rel=1e-3)
    assert figures["rate_fraction"] == pytest.approx(1.0, rel=1e-3)
    assert figures["delivered_per_s"] == pytest.approx(3 / 0.2, rel=1e-3)


def test_hit_figures_of_a_single_hit_has_no_rate() -> None:
    figures = hit_figures([_hit(1.0, None)], rule_per_s=20.0)
    assert figures["hits_per_s"] is None
    assert figures["rate_fraction"] is None
    assert figures["min_gap_ms"] is None


def test_count_between_includes_both_ends() -> None:
    assert count_between([1.0, 2.0, 3.0, 4.0], 2.0, 3.0) == 2


def test_cost_figures_scales_cpu_to_a_thousand_messages() -> None:
    cost = cost_figures({"w1": 1.5, "w2": 0.5}, {"w1": 71680, "w2": 51200}, messages=500)
    assert cost["cpu_s_total"] == 2.0
    assert cost["cpu_s_per_1000_messages"] == 4.0
    assert cost["per_worker"]["w1"] == {"cpu_s": 1.5, "peak_rss_mib": 70.0}
    assert cost["peak_rss_mib_max"] == 70.0
    assert cost["complete"] is True


def test_cost_figures_marks_a_worker_that_could_not_be_read() -> None:
    cost = cost_figures({"w1": 1.0, "w2": None}, {"w1": 1024, "w2": None}, messages=1000)
    assert cost["cpu_s_total"] == 1.0
    assert cost["per_worker"]["w2"] == {"cpu_s": None, "peak_rss_mib": None}
    assert cost["complete"] is False


def test_contention_attributes_what_the_bench_did_not_use_to_others() -> None:
    workers = {"w1": 3.0, "w2": None}
    figures = contention(busy_s=10.0, own_s=2.0, workers_s=workers, wall_s=10.0, nproc=2)
    assert figures["other_cpu_s"] == 5.0
    assert figures["other_cores"] == 0.5
    assert figures["machine_busy_share"] == 0.5
    assert figures["disturbed"] is True


def test_contention_of_a_quiet_machine_is_not_disturbed() -> None:
    figures = contention(busy_s=4.1, own_s=1.0, workers_s={"w1": 3.0}, wall_s=10.0, nproc=2)
    assert figures["other_cores"] == pytest.approx(0.01)
    assert figures["disturbed"] is False
