"""CPU time and peak memory of a process, read from ``/proc`` (Linux only).

CPU is ``utime + stime`` of ``/proc/<pid>/stat`` (every thread of the process, in clock ticks,
divided by ``SC_CLK_TCK``); peak memory is ``VmHWM`` of ``/proc/<pid>/status``, the resident
set's high-water mark. Parsing is split from reading so it can be tested on fixed text.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def parse_stat_ticks(stat_line: str) -> int:
    """``utime + stime`` (clock ticks) from the text of ``/proc/<pid>/stat``.

    The command name (field 2) sits in parentheses and may itself hold spaces or ``)``, so the
    fields are counted from the *last* ``)``: what follows starts with field 3 (the state).
    """
    close = stat_line.rfind(")")
    if close < 0:
        raise ValueError("not a /proc/<pid>/stat line: no ')' after the command name")
    fields = stat_line[close + 1 :].split()
    # Fields are numbered from 1 in proc(5); fields[0] is field 3, so field n is fields[n - 3].
    utime, stime = fields[14 - 3], fields[15 - 3]
    return int(utime) + int(stime)


def parse_status_kib(status_text: str, field: str = "VmHWM") -> int | None:
    """The value in KiB of a ``Name:  1234 kB`` line of ``/proc/<pid>/status`` (None if absent)."""
    prefix = field + ":"
    for line in status_text.splitlines():
        if line.startswith(prefix):
            parts = line[len(prefix) :].split()
            if parts and parts[0].isdigit():
                return int(parts[0])
    return None


def clock_ticks_per_s() -> int:
    """The kernel's ``USER_HZ`` (the unit of utime/stime)."""
    return int(os.sysconf("SC_CLK_TCK"))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far (None once it is gone)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return parse_stat_ticks(text) / clock_ticks_per_s()


def peak_rss_kib(pid: int) -> int | None:
    """Peak resident set size (``VmHWM``) of a live process in KiB (None once it is gone)."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    return parse_status_kib(text, "VmHWM")


def sample_cpu(pids: dict[str, int]) -> dict[str, float | None]:
    """CPU seconds of each named process, read back to back."""
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def cpu_delta(
    before: dict[str, float | None], after: dict[str, float | None]
) -> dict[str, float | None]:
    """CPU seconds used between two samples, per process (None if either sample is missing)."""
    out: dict[str, float | None] = {}
    for name, start in before.items():
        end = after.get(name)
        out[name] = None if start is None or end is None else round(end - start, 3)
    return out


def parse_busy_ticks(proc_stat_text: str) -> int:
    """Busy clock ticks of all CPUs together from the text of ``/proc/stat``.

    Busy = user + nice + system + irq + softirq + steal of the aggregate ``cpu`` line (guest
    time is already inside user and nice; idle and iowait are not busy).
    """
    for line in proc_stat_text.splitlines():
        if line.startswith("cpu "):
            fields = [int(v) for v in line.split()[1:]]
            fields += [0] * (8 - len(fields))
            user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
            return user + nice + system + irq + softirq + steal
    raise ValueError("no aggregate 'cpu' line in /proc/stat")


def machine_sample() -> tuple[float, float]:
    """``(busy CPU seconds of the whole machine, CPU seconds of this process)`` right now."""
    busy = parse_busy_ticks((PROC / "stat").read_text()) / clock_ticks_per_s()
    own = os.times()
    return busy, own.user + own.system
