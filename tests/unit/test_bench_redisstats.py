"""Redis cost of a send from INFO commandstats deltas (parsing and arithmetic only)."""

from __future__ import annotations

import pytest

from nusaworker.bench.redisstats import (
    calls_delta,
    parse_commandstats,
    parse_cpu,
    per_unit,
    redis_cost,
    script_calls,
    subtract_share,
)


def test_parse_commandstats_reads_both_shapes_redis_py_returns() -> None:
    info = {
        "cmdstat_evalsha": {"calls": 12, "usec": 300, "usec_per_call": 25.0},
        "cmdstat_client|setname": "calls=2,usec=4,usec_per_call=2.00",
        "cmdstat_GET": {"calls": 3},
        "something_else": 1,
    }
    assert parse_commandstats(info) == {"evalsha": 12, "client|setname": 2, "get": 3}


def test_parse_cpu_adds_user_and_system_of_the_main_process() -> None:
    info = {"used_cpu_user": 1.5, "used_cpu_sys": 0.25, "used_cpu_user_children": 9.0}
    assert parse_cpu(info) == pytest.approx(1.75)


def test_calls_delta_leaves_out_info_and_unchanged_commands() -> None:
    before = {"evalsha": 10, "get": 5, "info": 3}
    after = {"evalsha": 30, "get": 5, "info": 5, "lpush": 4}
    assert calls_delta(before, after) == {"evalsha": 20, "lpush": 4}


def test_calls_delta_counts_from_zero_after_a_reset() -> None:
    assert calls_delta({"get": 100}, {"get": 7}) == {"get": 7}


def test_script_calls_counts_every_way_to_run_a_script() -> None:
    calls = {"eval": 1, "evalsha": 2, "evalsha_ro": 3, "fcall": 4, "fcall_ro": 5, "get": 100}
    assert script_calls(calls) == 15


def test_subtract_share_removes_the_producers_part_and_never_goes_negative() -> None:
    window = {"evalsha": 100, "lpush": 10, "get": 3}
    producer = {"evalsha": 1.0, "lpush": 1.0, "sadd": 0.5}
    assert subtract_share(window, producer, 10) == {"evalsha": 90.0, "get": 3.0}


def test_per_unit_divides_and_refuses_an_empty_batch() -> None:
    assert per_unit({"evalsha": 50, "lpush": 100}, 50) == {"evalsha": 1.0, "lpush": 2.0}
    with pytest.raises(ValueError):
        per_unit({"get": 1}, 0)


def test_redis_cost_is_per_send_without_the_producer() -> None:
    window = {"evalsha": 600, "hset": 300, "lpush": 100, "brpop": 40}
    producer = {"evalsha": 1.0, "lpush": 1.0}
    cost = redis_cost(window=window, producer_per_send=producer, sends=100, cpu_s=0.5, top=2)
    assert cost["script_calls_per_send"] == 5.0
    assert cost["commands_per_send"] == pytest.approx((500 + 300 + 40) / 100)
    assert cost["top_commands_per_send"] == {"evalsha": 5.0, "hset": 3.0}
    assert cost["producer_subtracted"] is True
    assert cost["producer_script_calls_per_send"] == 1.0
    assert cost["producer_commands_per_send"] == 2.0
    assert cost["window_commands"] == 1040
    assert cost["redis_cpu_s_per_1000_sends"] == 5.0


def test_redis_cost_without_calibration_says_the_producer_is_included() -> None:
    cost = redis_cost(window={"evalsha": 30}, producer_per_send=None, sends=10, cpu_s=0.0)
    assert cost["producer_subtracted"] is False
    assert cost["script_calls_per_send"] == 3.0
    assert "producer_commands_per_send" not in cost


def test_redis_cost_refuses_zero_sends() -> None:
    with pytest.raises(ValueError):
        redis_cost(window={}, producer_per_send=None, sends=0, cpu_s=0.0)
