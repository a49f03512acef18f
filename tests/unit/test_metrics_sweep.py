"""A worker's private metrics directory outlives a SIGKILL; the next worker sweeps it."""

from __future__ import annotations

import os
from pathlib import Path

from nusaworker.metrics.exposition import PRIVATE_PREFIX, sweep_private_dirs


def test_sweep_removes_the_directories_of_dead_processes_only(tmp_path: Path) -> None:
    def made(name: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "counter_111.db").write_bytes(b"\0" * 16)
        return path

    dead = made(f"{PRIVATE_PREFIX}111-abc")
    live = made(f"{PRIVATE_PREFIX}222-def")
    # This very id: a previous life of the container (ids start over), never its own yet.
    previous_life = made(f"{PRIVATE_PREFIX}{os.getpid()}-ghi")
    unnamed = made(f"{PRIVATE_PREFIX}x1y2z3")  # an older release's name: no pid to judge
    other = made("someone-else-111-abc")

    removed = sweep_private_dirs(str(tmp_path), alive=lambda pid: pid == 222)

    assert sorted(removed) == sorted([str(dead), str(previous_life)])
    assert not dead.exists() and not previous_life.exists()
    assert live.exists() and unnamed.exists() and other.exists()
