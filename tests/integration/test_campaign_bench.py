"""The campaign bench runs end to end at tiny sizes and reports every figure (not their
values: speed goals live in the bench, never in a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.integration

# Fleet start-up, a 6 s drain and the tear-down, on a box other suites may share.
BENCH_TIMEOUT_S = 240


@pytest.mark.timeout(BENCH_TIMEOUT_S + 30)
def test_campaign_bench_reports_every_figure(redis_url: str, tmp_path: Path) -> None:
    args = [
        *("--rows", "2000", "--loop-rows", "200", "--big-rows", "2000"),
        *("--drain-rows", "300", "--drain-seconds", "6"),  # still sending all span long
        *("--redis-url", redis_url, "--out", str(tmp_path)),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "nusaworker.bench.campaign_bench", *args],
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [written] = tmp_path.glob("campaign-*.json")
    report = json.loads(written.read_text())
    results = report["results"]

    acceptance = results["acceptance"]
    assert acceptance["campaign"]["rows"] == acceptance["campaign"]["accepted"] == 2000
    assert acceptance["producer_loop"]["rows"] == 200
    assert acceptance["producer_loop"]["refused"] == 0  # the same recipients on both paths
    assert acceptance["producer_loop"]["sampled"] is True
    for figure in (
        acceptance["campaign"]["recipients_per_s"],
        acceptance["campaign"]["redis_bytes_per_recipient"],
        acceptance["producer_loop"]["recipients_per_s"],
        acceptance["producer_loop"]["extrapolated_seconds_for_all_rows"],
        acceptance["ratio"],
        results["million"]["peak_rss_mb"],
        results["million"]["redis_bytes_per_recipient"],
        results["dispatched_record"]["record_bytes_mean"],
        results["drain"]["campaign_hits_per_s"],
        results["drain"]["account_rate_fraction"],
        results["drain"]["otp_latency"]["p99_ms"],
    ):
        assert isinstance(figure, int | float) and figure > 0
    # Six in flight are fetched at once by an idle worker: the queue may be seen empty.
    assert results["drain"]["window"]["broker_queue_max"] >= 0
    assert results["million"]["rows"] == 2000
    assert results["dispatched_record"]["dispatched"] > 0
    drain = results["drain"]
    assert drain["full"] is False and report["parameters"]["drain_seconds"] == 6
    assert drain["campaign_after"]["state"] == "cancelled"
    assert isinstance(drain["violations"], int)
    assert drain["otp_latency"]["arrived"] >= 1

    goals = report["goals"]
    assert len(goals) == 8
    assert all(isinstance(g["met"], bool) and g["goal"] for g in goals)
    assert "goals met:" in done.stdout

    client = redis.Redis.from_url(redis_url)
    try:
        left = list(client.scan_iter(match=report["parameters"]["key_prefix"] + "*"))
    finally:
        client.close()
    assert left == []
