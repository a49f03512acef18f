"""Reading CPU time and peak memory out of /proc text (parsing only; no process is read)."""

from __future__ import annotations

import pytest

from nusaworker.bench.procstat import (
    cpu_delta,
    descendants,
    parse_busy_ticks,
    parse_stat_ppid,
    parse_stat_ticks,
    parse_status_kib,
)

# A real /proc/<pid>/stat line with utime (field 14) = 1234 and stime (field 15) = 56.
STAT = (
    "4242 (python3) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 56 0 0 20 0 9 0 "
    "427985 3133440 390 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
)

STATUS = """Name:\tcelery
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  812340 kB
VmHWM:\t   71808 kB
VmRSS:\t   70112 kB
Threads:\t12
"""


def test_parse_stat_ticks_sums_utime_and_stime() -> None:
    assert parse_stat_ticks(STAT) == 1234 + 56


def test_parse_stat_ticks_survives_spaces_and_parens_in_the_command_name() -> None:
    tricky = STAT.replace("(python3)", "(celery worker (x) )")
    assert parse_stat_ticks(tricky) == 1290


def test_parse_stat_ticks_rejects_text_without_a_command_name() -> None:
    with pytest.raises(ValueError):
        parse_stat_ticks("4242 python3 S 1")


def test_parse_status_kib_reads_the_high_water_mark() -> None:
    assert parse_status_kib(STATUS) == 71808


def test_parse_status_kib_reads_another_field_and_misses_absent_ones() -> None:
    assert parse_status_kib(STATUS, "VmRSS") == 70112
    assert parse_status_kib(STATUS, "VmSwap") is None
    # "VmHWMx" must not be taken for "VmHWM".
    assert parse_status_kib("VmHWMx:\t 5 kB\n") is None


def test_cpu_delta_subtracts_per_process_and_marks_missing_samples() -> None:
    before = {"a": 1.0, "b": 2.0, "c": None}
    after = {"a": 3.5, "b": None, "c": 4.0}
    assert cpu_delta(before, after) == {"a": 2.5, "b": None, "c": None}


def test_parse_busy_ticks_counts_busy_fields_of_the_aggregate_line() -> None:
    text = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 12345\n"
    # user + nice + system + irq + softirq + steal; idle and iowait are not busy.
    assert parse_busy_ticks(text) == 100 + 5 + 50 + 3 + 2 + 1


def test_parse_busy_ticks_rejects_text_without_the_aggregate_line() -> None:
    with pytest.raises(ValueError):
        parse_busy_ticks("cpu0 1 2 3 4\n")


def test_parse_stat_ticks_adds_reaped_children_only_when_asked() -> None:
    # cutime (field 16) = 7, cstime (field 17) = 3: a prefork pool child that was replaced.
    reaped = STAT.replace(" 1234 56 0 0 ", " 1234 56 7 3 ")
    assert parse_stat_ticks(reaped) == 1290
    assert parse_stat_ticks(reaped, reaped_children=True) == 1300


def test_parse_stat_ppid_reads_field_four_past_a_tricky_command_name() -> None:
    assert parse_stat_ppid(STAT) == 1
    assert parse_stat_ppid(STAT.replace("(python3)", "(a) 9 (b)")) == 1


def test_descendants_walks_a_prefork_tree_root_first() -> None:
    # 100 is a prefork worker with children 101, 102; 102 forked 103; 200 is someone else's.
    parents = {100: 1, 101: 100, 102: 100, 103: 102, 200: 1, 201: 200}
    assert descendants(parents, 100) == [100, 101, 102, 103]
    assert descendants(parents, 101) == [101]


def test_descendants_of_an_unknown_pid_is_the_pid_alone() -> None:
    assert descendants({}, 42) == [42]
