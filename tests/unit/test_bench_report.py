"""Shaping the bench report: goals per run and gate, ratios, cost of a send, the JSON files,
and the printed table (a row per run and gate, a verdict column per goal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nusaworker.bench.report import (
    RATE_GOAL_HOGS,
    RATE_GOAL_QUIET,
    build_report,
    cost_per_send,
    gate_order,
    goals,
    pacing_rows,
    pacing_verdicts,
    rate_goal,
    ratios,
    write_report,
)
from nusaworker.bench.stats import latency_summary
from nusaworker.bench.table import fmt, render_table


def pacing_row(
    rate: float,
    *,
    delivered: float | None = None,
    violations: int = 0,
    cpu: float = 9.0,
    scripts: float = 5.0,
    finished: bool = True,
) -> dict[str, Any]:
    return {
        "processes": 4,
        "threads_per_process": 4,
        "fleet": ["send1: -Q otp,wa -c 4", "otp: -Q otp -c 2"],
        "messages": 600,
        "finished": finished,
        "sandbox": {
            "hits_per_s": rate,
            "rate_fraction": rate / 20.0,
            "delivered_per_s": rate if delivered is None else delivered,
            "accepted_sends": 600,
            "violations": violations,
            "http_429": violations,
            "min_gap_ms": 51.2 if not violations else 0.3,
        },
        "cost": {"cpu_s_per_1000_messages": cpu, "peak_rss_mib_max": 70.0},
        "redis": {
            "script_calls_per_send": scripts,
            "commands_per_send": 40.0,
            "redis_cpu_s_per_1000_sends": 2.0,
        },
    }


def otp_row(observed: list[float], censored: list[float]) -> dict[str, Any]:
    return {
        "backlog": 5000,
        "otps": len(observed) + len(censored),
        "latency": latency_summary(observed, censored),
        "bulk_sent_during_otps": 600,
        "bulk_rate_during_otps_per_s": 18.5,
        "violations": 0,
    }


def results(*, causal_rate: float = 19.6, otp_ms: float = 60.0) -> dict[str, Any]:
    return {
        "pacing": {
            "default": {"causal": pacing_row(causal_rate), "slots": pacing_row(18.0)},
            "default-hogs": {"slots": pacing_row(18.5, violations=2), "causal": pacing_row(18.2)},
            "threads8": {"causal": pacing_row(19.5, cpu=7.0, scripts=4.0)},
        },
        "baselines": {
            "naive_rate_limit": pacing_row(41.0, delivered=4.0, violations=600, cpu=8.0),
            "serial": pacing_row(6.5, cpu=5.0),
        },
        "otp": {
            "priority": {"causal": otp_row([otp_ms] * 40, []), "slots": otp_row([90.0] * 40, [])},
            "fifo": otp_row([200_000.0] * 30, [300_000.0] * 10),
        },
    }


def test_pacing_rows_come_in_variant_order_causal_gate_first() -> None:
    order = [(v, g) for v, g, _ in pacing_rows(results())]
    assert order == [
        ("default", "causal"),
        ("default", "slots"),
        ("threads8", "causal"),
        ("default-hogs", "causal"),
        ("default-hogs", "slots"),
    ]


def test_gate_order_puts_unknown_gates_after_the_known_ones() -> None:
    assert gate_order({"zeta": 1, "slots": 1, "causal": 1}) == ["causal", "slots", "zeta"]
    assert gate_order(None) == []


def test_rate_goal_is_lower_beside_busy_loops() -> None:
    assert rate_goal("prefork") == RATE_GOAL_QUIET == 0.97
    assert rate_goal("prefork-hogs") == RATE_GOAL_HOGS == 0.90


def test_pacing_verdicts_judge_rate_and_violations_apart() -> None:
    assert pacing_verdicts("default", pacing_row(19.5)) == {"violations": True, "rate": True}
    assert pacing_verdicts("default", pacing_row(19.0)) == {"violations": True, "rate": False}
    hogged = pacing_row(18.2, violations=1)
    assert pacing_verdicts("default-hogs", hogged) == {"violations": False, "rate": True}


def test_pacing_verdicts_of_a_run_without_figures_are_not_met() -> None:
    assert pacing_verdicts("default", {}) == {"violations": False, "rate": False}


def test_goals_name_every_run_and_gate() -> None:
    verdicts = {g["goal"]: g["met"] for g in goals(results())}
    assert verdicts["pacing default, causal gate: 0 violations"] is True
    assert verdicts["pacing default, causal gate: hits/s >= 0.97 x 20/s"] is True
    assert verdicts["pacing default, slots gate: hits/s >= 0.97 x 20/s"] is False
    assert verdicts["pacing default-hogs, slots gate: 0 violations"] is False
    assert verdicts["pacing default-hogs, causal gate: hits/s >= 0.9 x 20/s"] is True
    assert verdicts["OTP under backlog, causal gate: p99 <= 100 ms"] is True
    assert verdicts["OTP under backlog, slots gate: 0 violations"] is True
    assert len(verdicts) == 5 * 2 + 2 * 2


def test_goal_on_otp_p99_is_missed_when_slow_or_censored() -> None:
    slow = {g["goal"]: g["met"] for g in goals(results(otp_ms=150.0))}
    assert slow["OTP under backlog, causal gate: p99 <= 100 ms"] is False
    res = results()
    res["otp"]["priority"]["causal"] = otp_row([50.0] * 39, [60.0])
    censored = {g["goal"]: g["met"] for g in goals(res)}
    assert censored["OTP under backlog, causal gate: p99 <= 100 ms"] is False


def test_ratios_compare_the_first_quiet_causal_run_with_each_baseline() -> None:
    out = ratios(results())
    assert out["hits_per_s_ours_over_serial"] == pytest.approx(19.6 / 6.5, abs=0.01)
    assert out["delivered_per_s_ours_over_naive"] == pytest.approx(19.6 / 4.0, abs=0.01)
    assert out["violations"] == {"ours": 0, "naive_rate_limit": 600, "serial": 0}
    assert out["cpu_per_1000_ours_over_naive"] == pytest.approx(9.0 / 8.0, abs=0.01)


def test_ratios_set_causal_against_slots_where_both_ran() -> None:
    out = ratios(results())["causal_over_slots"]
    assert set(out) == {"default", "default-hogs"}
    assert out["default"]["hits_per_s"] == pytest.approx(19.6 / 18.0, abs=0.01)


def test_ratios_against_a_censored_fifo_figure_are_marked_as_bounds() -> None:
    out = ratios(results())
    assert out["otp_p50_fifo_over_priority_causal_exact"] is True
    assert out["otp_p99_fifo_over_priority_causal"] == pytest.approx(300_000 / 60, abs=0.01)
    assert out["otp_p99_fifo_over_priority_causal_exact"] is False
    assert out["otp_p99_fifo_over_priority_slots"] == pytest.approx(300_000 / 90, abs=0.01)


def test_ratios_of_scenarios_that_did_not_run_are_none() -> None:
    out = ratios({"pacing": {"prefork": {"slots": pacing_row(19.0)}}})
    assert out["hits_per_s_ours_over_serial"] is None
    assert out["violations"]["naive_rate_limit"] is None
    assert out["causal_over_slots"] == {}
    assert not any(k.startswith("otp_") for k in out)


def test_cost_per_send_is_read_from_the_quiet_threads_worker() -> None:
    cost = cost_per_send(results())
    assert cost == {
        "causal": {
            "cpu_s_per_1000_sends": 7.0,
            "peak_rss_mib": 70.0,
            "redis_script_calls_per_send": 4.0,
            "redis_commands_per_send": 40.0,
            "redis_cpu_s_per_1000_sends": 2.0,
        }
    }
    assert cost_per_send({"pacing": {"default": {"causal": pacing_row(19.0)}}}) == {}


def test_write_report_writes_a_dated_file_and_latest_with_the_same_json(tmp_path: Path) -> None:
    report = build_report(machine={"nproc": 2}, params={}, results=results(), duration_s=3.0)
    dated, latest = write_report(report, tmp_path / "bench-results")
    assert dated.name.startswith("bench-") and dated.name.endswith("Z.json")
    assert latest.name == "latest.json"
    assert json.loads(dated.read_text()) == json.loads(latest.read_text())
    loaded = json.loads(latest.read_text())
    assert loaded["ratios"]["violations"]["naive_rate_limit"] == 600
    assert loaded["cost_per_send"]["causal"]["redis_script_calls_per_send"] == 4.0


def _text(res: dict[str, Any]) -> str:
    params = {
        "latency_ms": 150.0,
        "latency_jitter_ms": 50.0,
        "min_interval_ms": 50.0,
        "priority": "normal",
    }
    report = build_report(
        machine={"nproc": 2, "python": "3.11"}, params=params, results=res, duration_s=1.0
    )
    return render_table(report)


def test_render_table_prints_each_gate_side_by_side_with_verdicts() -> None:
    text = _text(results())
    assert (
        "| (a) 3 x -c 4 + otp -c 2, no --pool | causal | 600 (600) | 19.60 | 0.980 | >= 0.97 "
        "| met | 0 | met |" in text
    )
    assert (
        "| (a) 3 x -c 4 + otp -c 2, no --pool | slots | 600 (600) | 18.00 | 0.900 | >= 0.97 "
        "| not met | 0 | met |" in text
    )
    assert "| (a) 3 x -c 4 + otp -c 2, no --pool, 2 busy loops | slots |" in text
    assert "| 5.00 | 40.0 |" in text  # script calls and Redis commands per send


def test_render_table_prints_baselines_otp_rows_and_cost() -> None:
    text = _text(results())
    assert "| Celery rate_limit=20/s per worker | -Q otp,wa -c 4, -Q otp -c 2 |" in text
    assert "serial: 1 process, -c 1" in text
    assert (
        "| ours: otp queue first, causal gate | 5000 | 40 | 40 | 60 | 60 | 60 | 60 | met |" in text
    )
    assert "| one FIFO queue |" in text and "(baseline)" in text
    assert ">= 300000" in text  # the censored FIFO p99
    assert "cost per send, one --pool threads -c 8 worker, causal gate: 7.00 CPU s" in text
    assert "OTP p99: FIFO / ours (causal gate) = >= 5000.0x" in text


def test_render_table_sums_up_goals_and_lists_the_missed_ones() -> None:
    text = _text(results())
    assert "goals met: 12 of 14" in text
    assert (
        "GOAL NOT MET pacing default, slots gate: hits/s >= 0.97 x 20/s (measured: 0.900)" in text
    )
    assert "GOAL NOT MET pacing default-hogs, slots gate: 0 violations (measured: 2)" in text


def test_render_table_leaves_out_scenarios_that_did_not_run() -> None:
    text = _text({"otp": {"priority": {"causal": otp_row([60.0], [])}}})
    assert "| pacing run |" not in text
    assert "| baseline |" not in text
    assert "ours: otp queue first, causal gate" in text
    assert "one FIFO queue" not in text


def test_render_table_marks_an_unfinished_run_and_a_disturbed_one() -> None:
    res = {"pacing": {"prefork": {"causal": pacing_row(10.0, finished=False)}}}
    res["pacing"]["prefork"]["causal"]["machine"] = {"disturbed": True, "other_cores": 0.8}
    text = _text(res)
    assert "--pool prefork (unfinished) | causal |" in text
    assert "note: pacing/prefork/causal: other processes (Redis included) used 0.80 cores" in text


def test_fmt_shows_missing_figures_as_a_dash() -> None:
    assert fmt(None) == "-"
    assert fmt(1.23456, 3) == "1.235"
    assert fmt(7) == "7"


def test_render_table_prints_a_rows_notes_and_where_its_logs_are() -> None:
    res = {"pacing": {"prefork": {"causal": pacing_row(19.0, finished=False)}}}
    res["pacing"]["prefork"]["causal"]["notes"] = ["send1: --pool prefork ran the thread pool"]
    res["pacing"]["prefork"]["causal"]["logs"] = "bench-results/logs/x/pacing-prefork-causal"
    text = _text(res)
    assert "note: pacing/prefork/causal: send1: --pool prefork ran the thread pool" in text
    assert "note: pacing/prefork/causal: worker logs kept in bench-results/logs/x/" in text
