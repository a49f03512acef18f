"""The bench's command line: sizes, quick sizing, gates, scenario groups, and the fleets."""

from __future__ import annotations

import pytest

from nusaworker.bench import SCENARIOS, BenchParams, parse_args
from nusaworker.bench.layouts import (
    PACING_VARIANTS,
    SEND_QUEUES,
    VARIANTS_BY_NAME,
    naive_fleet,
    new_user_fleet,
)
from nusaworker.bench.params import expand_only
from nusaworker.bench.rig import banner_pool


def test_bench_params_default_to_the_full_sizes_of_docs_benchmarks() -> None:
    params = BenchParams.from_args(parse_args([]))
    assert params.pacing_messages == 600
    assert params.backlog == 5000
    assert params.otps >= 40
    assert params.gates == ("causal", "slots")
    assert params.priority == "normal"
    assert params.scenarios == SCENARIOS


def test_bench_params_quick_shrinks_sizes_and_explicit_values_win() -> None:
    params = BenchParams.from_args(parse_args(["--quick", "--otps", "7", "--only", "otp"]))
    assert params.quick is True
    assert params.backlog < 5000
    assert params.pacing_messages < 600
    assert params.otps == 7
    assert params.scenarios == ("otp",)


def test_bench_params_run_the_gates_asked_for_once_each() -> None:
    params = BenchParams.from_args(parse_args(["--gates", "slots", "slots"]))
    assert params.gates == ("slots",)


def test_expand_only_takes_groups_and_keeps_the_run_order() -> None:
    assert expand_only(["fifo", "quiet"]) == ("default", "prefork", "threads8", "fifo")
    assert expand_only(["hogs"]) == ("default-hogs", "prefork-hogs", "threads8-hogs")
    assert expand_only(None) == SCENARIOS


def test_parse_args_refuses_a_batch_too_small_to_measure_and_unknown_names() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--messages", "1"])
    with pytest.raises(SystemExit):
        parse_args(["--only", "ours"])
    with pytest.raises(SystemExit):
        parse_args(["--gates", "fancy"])


def test_new_user_fleet_is_three_general_workers_and_one_otp_worker() -> None:
    args = [spec.args() for spec in new_user_fleet()]
    assert SEND_QUEUES == "otp,wa,wa_official,sms,check"
    assert [a[:5] for a in args] == [
        ["worker", "-Q", SEND_QUEUES, "-c", "4"],
        ["worker", "-Q", SEND_QUEUES, "-c", "4"],
        ["worker", "-Q", SEND_QUEUES, "-c", "4"],
        ["worker", "-Q", "otp", "-c", "2"],
    ]
    assert not any("--pool" in a or "--without-mingle" in a for a in args)


def test_pacing_variants_cover_each_pool_quiet_and_hogged() -> None:
    assert [v.name for v in PACING_VARIANTS] == [
        "default",
        "prefork",
        "threads8",
        "default-hogs",
        "prefork-hogs",
        "threads8-hogs",
    ]
    prefork = VARIANTS_BY_NAME["prefork-hogs"]
    assert prefork.hogs == 2
    assert all(spec.args()[3:5] == ["--pool", "prefork"] for spec in prefork.specs())
    (threads8,) = VARIANTS_BY_NAME["threads8"].specs()
    assert threads8.args()[:7] == ["worker", "-Q", SEND_QUEUES, "--pool", "threads", "-c", "8"]


def test_naive_fleet_runs_the_same_processes_on_its_own_queue() -> None:
    specs = naive_fleet()
    assert [s.concurrency for s in specs] == [4, 4, 4, 2]
    assert all(s.queues == "bench_naive" and "-I" in s.args() for s in specs)


def test_banner_pool_reads_what_the_worker_really_runs() -> None:
    log = "- *** --- * --- .> concurrency: 4 (thread)\n-- ******* ---- .> task events: OFF"
    assert banner_pool(log) == (4, "thread")
    assert banner_pool(".> concurrency: 12 (prefork)") == (12, "prefork")
    assert banner_pool("starting…") is None
