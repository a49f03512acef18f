"""CPU time and peak memory of a process, read from ``/proc`` (Linux only).

CPU is ``utime + stime`` of ``/proc/<pid>/stat`` (every thread of the process, in clock ticks,
divided by ``SC_CLK_TCK``); peak memory is ``VmHWM`` of ``/proc/<pid>/status``, the resident
set's high-water mark. A ``--pool prefork`` worker is a parent and its pool children, so a worker's
figures are those of its whole process tree (:func:`tree_cpu_seconds`, :func:`tree_peak_rss_kib`).
Parsing is split from reading so it can be tested on fixed text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")


def _stat_field(stat_line: str, number: int) -> str:
    """Field ``number`` (numbered from 1, as in proc(5), ≥ 3) of a ``/proc/<pid>/stat`` line.

    The command name (field 2) sits in parentheses and may itself hold spaces or ``)``, so the
    fields are counted from the *last* ``)``: what follows starts with field 3 (the state).
    """
    close = stat_line.rfind(")")
    if close < 0:
        raise ValueError("not a /proc/<pid>/stat line: no ')' after the command name")
    return stat_line[close + 1 :].split()[number - 3]


def parse_stat_ticks(stat_line: str, *, reaped_children: bool = False) -> int:
    """``utime + stime`` (clock ticks) from the text of ``/proc/<pid>/stat``.

    With ``reaped_children`` also ``cutime + cstime``: the time of children the process has
    waited for (a prefork pool child that was replaced), which no live process holds any more.
    """
    fields = (14, 15, 16, 17) if reaped_children else (14, 15)
    return sum(int(_stat_field(stat_line, n)) for n in fields)


def parse_stat_ppid(stat_line: str) -> int:
    """The parent pid (field 4) from the text of ``/proc/<pid>/stat``."""
    return int(_stat_field(stat_line, 4))


def descendants(parents: Mapping[int, int], root: int) -> list[int]:
    """``root`` and every process below it, root first, from a pid → parent pid map."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out: list[int] = []
    todo = [root]
    seen: set[int] = set()
    while todo:
        pid = todo.pop(0)
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return out


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


def parent_map() -> dict[int, int]:
    """pid → parent pid of every process now (those that vanish while read are left out)."""
    out: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            out[int(entry.name)] = parse_stat_ppid((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    return out


def process_tree(pid: int, parents: Mapping[int, int] | None = None) -> list[int]:
    """``pid`` and its live descendants (just ``pid`` if it has none)."""
    return descendants(parent_map() if parents is None else parents, pid)


def tree_cpu_seconds(pid: int, parents: Mapping[int, int] | None = None) -> float | None:
    """CPU seconds of a process, its live descendants and the children they reaped.

    None once ``pid`` itself is gone; a descendant that vanishes while read is skipped (its
    time moves to its parent's reaped-children count).
    """
    total = 0
    for index, member in enumerate(process_tree(pid, parents)):
        try:
            text = (PROC / str(member) / "stat").read_text()
        except OSError:
            if index == 0:
                return None
            continue
        total += parse_stat_ticks(text, reaped_children=True)
    return total / clock_ticks_per_s()


def tree_peak_rss_kib(pid: int, parents: Mapping[int, int] | None = None) -> int | None:
    """Sum of the peak resident sets of a process and its live descendants (KiB).

    Pages shared between a prefork parent and its children count once per process: an upper
    bound of what the tree holds. None once ``pid`` itself is gone.
    """
    members = process_tree(pid, parents)
    peaks = [peak_rss_kib(member) for member in members]
    if peaks[0] is None:
        return None
    return sum(p for p in peaks if p is not None)


def sample_cpu(pids: dict[str, int]) -> dict[str, float | None]:
    """CPU seconds of each named process, read back to back."""
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def sample_tree_cpu(pids: dict[str, int]) -> dict[str, float | None]:
    """CPU seconds of each named process tree, read back to back (one scan of ``/proc``)."""
    parents = parent_map()
    return {name: tree_cpu_seconds(pid, parents) for name, pid in pids.items()}


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
