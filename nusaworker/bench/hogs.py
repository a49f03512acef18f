"""Busy loops that keep the cores loaded while a scenario runs ("two busy loops keep both
cores loaded", as the issue puts it).

Each hog is a plain child Python process spinning ``while True: pass`` at normal priority —
not niced, so the fleet competes with it exactly as with any other busy program on the box.
They are started before the fleet and killed (by pid, each one ours) once the figures are
read, also on Ctrl-C or an exception.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

from nusaworker.bench.procstat import cpu_seconds

BUSY_LOOP = "while True: pass"


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[list[int]]:
    """Run ``count`` busy loops for the duration of the block; yields their pids."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", BUSY_LOOP],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait()


def hog_cpu_seconds(pids: list[int]) -> float | None:
    """CPU seconds the hogs have used so far (None if one is gone): how hard they competed."""
    values = [cpu_seconds(pid) for pid in pids]
    if any(v is None for v in values):
        return None
    return round(sum(v for v in values if v is not None), 3)
