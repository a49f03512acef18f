"""Shaping the bench report: ratios, goals, the printed table, the JSON files, the arguments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nusaworker.bench import BenchParams, parse_args
from nusaworker.bench.report import build_report, goals, ratios, render_table, write_report
from nusaworker.bench.stats import latency_summary


def _pacing(rate: float, delivered: float, violations: int, cpu: float) -> dict[str, Any]:
    return {
        "processes": 3,
        "threads_per_process": 8,
        "messages": 600,
        "finished": True,
        "sandbox": {
            "hits_per_s": rate,
            "rate_fraction": rate / 20.0,
            "delivered_per_s": delivered,
            "accepted_sends": 600,
            "violations": violations,
            "http_429": violations,
            "min_gap_ms": 51.2 if not violations else 0.3,
        },
        "cost": {"cpu_s_per_1000_messages": cpu, "peak_rss_mib_max": 70.0},
    }


def _otp(observed: list[float], censored: list[float]) -> dict[str, Any]:
    return {
        "backlog": 5000,
        "otps": len(observed) + len(censored),
        "latency": latency_summary(observed, censored),
        "bulk_sent_during_otps": 600,
        "bulk_rate_during_otps_per_s": 18.5,
    }


def _results(*, ours_rate: float = 19.3, otp_ms: float = 60.0) -> dict[str, Any]:
    return {
        "pacing": {
            "ours": _pacing(ours_rate, ours_rate, 0, 9.0),
            "naive_rate_limit": _pacing(41.0, 4.0, 600, 8.0),
            "serial": _pacing(6.5, 6.5, 0, 5.0),
        },
        "otp": {
            "priority": _otp([otp_ms] * 40, []),
            "fifo": _otp([200_000.0] * 30, [300_000.0] * 10),
        },
    }


def test_ratios_compare_ours_with_each_baseline() -> None:
    out = ratios(_results())
    assert out["hits_per_s_ours_over_serial"] == pytest.approx(19.3 / 6.5, abs=0.01)
    assert out["delivered_per_s_ours_over_naive"] == pytest.approx(19.3 / 4.0, abs=0.01)
    assert out["violations"] == {"ours": 0, "naive_rate_limit": 600, "serial": 0}
    assert out["cpu_per_1000_ours_over_naive"] == pytest.approx(9.0 / 8.0, abs=0.01)


def test_ratios_against_a_censored_fifo_figure_are_marked_as_bounds() -> None:
    out = ratios(_results())
    assert out["otp_p50_fifo_over_priority_exact"] is True
    assert out["otp_p99_fifo_over_priority"] == pytest.approx(300_000 / 60, abs=0.01)
    assert out["otp_p99_fifo_over_priority_exact"] is False


def test_ratios_of_scenarios_that_did_not_run_are_none() -> None:
    out = ratios({"pacing": {"ours": _pacing(19.0, 19.0, 0, 9.0)}})
    assert out["hits_per_s_ours_over_serial"] is None
    assert out["otp_p99_fifo_over_priority"] is None
    assert out["violations"]["naive_rate_limit"] is None


def test_goals_are_met_by_a_good_run() -> None:
    assert [g["met"] for g in goals(_results())] == [True, True, True]


def test_goals_are_missed_by_a_slow_fleet_and_slow_otps() -> None:
    verdicts = {g["goal"]: g["met"] for g in goals(_results(ours_rate=18.0, otp_ms=400.0))}
    assert verdicts == {
        "pacing: achieved rate >= 0.95 x 20/s": False,
        "pacing: 0 violations": True,
        "OTP under backlog: p99 <= 150 ms": False,
    }


def test_goal_on_otp_p99_is_missed_when_the_figure_is_censored() -> None:
    results = _results()
    results["otp"]["priority"] = _otp([50.0] * 39, [100.0])
    (otp_goal,) = [g for g in goals(results) if g["goal"].startswith("OTP")]
    assert otp_goal["met"] is False


def test_render_table_prints_every_row_verdict_and_bound() -> None:
    report = build_report(
        machine={"nproc": 2, "python": "3.11"},
        params={"latency_ms": 150.0, "latency_jitter_ms": 50.0, "min_interval_ms": 50.0},
        results=_results(ours_rate=18.0),
        duration_s=1.0,
    )
    text = render_table(report)
    assert "| ours: Redis gate | 3 x 8 | 600 (600) | 18.00 | 0.900 |" in text
    assert "Celery rate_limit=20/s" in text
    assert "serial: 1 process, -c 1" in text
    assert ">= 300000" in text  # the censored FIFO p99
    assert "GOAL MISSED pacing: achieved rate >= 0.95 x 20/s" in text
    assert "GOAL MET    pacing: 0 violations" in text


def test_render_table_leaves_out_scenarios_that_did_not_run() -> None:
    report = build_report(
        machine={}, params={}, results={"otp": {"priority": _otp([60.0], [])}}, duration_s=0.0
    )
    text = render_table(report)
    assert "| pacing |" not in text
    assert "ours: otp queue + worker" in text
    assert "one FIFO queue" not in text


def test_write_report_writes_a_dated_file_and_latest_with_the_same_json(tmp_path: Path) -> None:
    report = build_report(machine={"nproc": 2}, params={}, results=_results(), duration_s=3.0)
    dated, latest = write_report(report, tmp_path / "bench-results")
    assert dated.name.startswith("bench-") and dated.name.endswith("Z.json")
    assert latest.name == "latest.json"
    assert json.loads(dated.read_text()) == json.loads(latest.read_text())
    assert json.loads(latest.read_text())["ratios"]["violations"]["naive_rate_limit"] == 600


def test_bench_params_default_to_the_full_sizes_of_the_issue() -> None:
    params = BenchParams.from_args(parse_args([]))
    assert params.pacing_messages >= 600
    assert params.workers >= 3
    assert params.backlog >= 5000
    assert params.otps >= 40
    assert params.scenarios == ("ours", "naive", "serial", "otp", "fifo")


def test_bench_params_quick_shrinks_sizes_and_explicit_values_win() -> None:
    params = BenchParams.from_args(parse_args(["--quick", "--otps", "7", "--only", "otp"]))
    assert params.quick is True
    assert params.backlog < 5000
    assert params.otps == 7
    assert params.scenarios == ("otp",)


def test_parse_args_refuses_a_batch_too_small_to_measure() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--messages", "1"])


def test_render_table_notes_a_disturbed_scenario() -> None:
    results = _results()
    results["pacing"]["ours"]["machine"] = {"disturbed": True, "other_cores": 0.8}
    report = build_report(machine={}, params={}, results=results, duration_s=0.0)
    assert "note: pacing/ours: other processes (Redis included) used 0.80 cores" in render_table(
        report
    )
