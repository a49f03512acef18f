"""The campaign bench's verdicts and table, on fixed figures."""

from __future__ import annotations

from typing import Any

from nusaworker.bench.campaign_bench import figure_lines, goals, render


def _results(**drain: Any) -> dict[str, Any]:
    return {
        "acceptance": {
            "campaign": {"rows": 100, "seconds": 0.002, "recipients_per_s": 50_000.0},
            "producer_loop": {"rows": 10, "seconds": 0.01, "recipients_per_s": 1_000.0},
            "ratio": 50.0,
        },
        "million": {"rows": 1_000, "peak_rss_mb": 150.0, "redis_bytes_per_recipient": 90.0},
        "drain": {
            "account_rate_fraction": 0.98,
            "violations": 0,
            "otp_latency": {"p99_ms": 80.0, "p99_exact": True},
            "window": {"broker_queue_max": 100, "aimed": 100},
            **drain,
        },
    }


def test_campaign_bench_goals_met_by_good_figures() -> None:
    verdicts = goals(_results())
    assert len(verdicts) == 8
    assert all(g["met"] for g in verdicts), verdicts


def test_campaign_bench_goals_not_met_by_each_bad_drain_figure() -> None:
    bad = _results(
        account_rate_fraction=0.9,
        violations=1,
        otp_latency={"p99_ms": 80.0, "p99_exact": False},  # a censored p99 proves nothing
        window={"broker_queue_max": 20_000, "aimed": 100},
    )
    verdicts = {g["goal"]: g["met"] for g in goals(bad)}
    assert [name for name, met in verdicts.items() if not met] == [
        name for name in verdicts if not name.startswith(("acceptance", "1,000 rows", "Redis"))
    ]
    assert sum(not met for met in verdicts.values()) == 4


def test_campaign_bench_goals_only_for_the_parts_that_ran() -> None:
    results = _results()
    del results["million"], results["drain"]
    assert [g["goal"] for g in goals(results)] == [
        "acceptance >= 10,000 recipients/s",
        "acceptance >= 5x the producer loop",
    ]


def test_campaign_bench_render_shows_every_goal_and_figure() -> None:
    report = {"created_utc": "now", "duration_s": 1.0, "results": _results()}
    report["goals"] = goals(report["results"])
    text = render(report)
    assert text.count("| met |") == 8
    assert "goals met: 8 of 8" in text
    assert len(figure_lines(report["results"])) == 4  # acceptance, large CSV, drain, blank
