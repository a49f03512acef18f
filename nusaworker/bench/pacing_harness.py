"""Measure a pacing gate where it matters: timestamps taken right after ``acquire`` returns.

:func:`measure` starts N processes with M threads each, all hammering one account of one
:class:`~nusaworker.pacing.RedisGate` per process for a while, each thread recording
``time.monotonic()`` the moment ``acquire`` returns. CLOCK_MONOTONIC is one system-wide clock
on Linux, so the timestamps of all processes can be merged and the gaps between consecutive
hits measured as a provider on this machine would see them. Optionally a busy loop per core
competes for the CPU, which is what makes workers wake up late.

Used to choose the gate's default safety margin and by the benchmark.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from nusaworker.keys import Keys
from nusaworker.pacing.gate import (
    DEFAULT_LATE_TOLERANCE_MS,
    DEFAULT_SAFETY_MARGIN_MS,
    RedisGate,
    gate_client,
)
from nusaworker.types import Priority

# Generous: a spawned interpreter importing redis on a loaded 2-core box takes a while.
_SETUP_TIMEOUT_S = 30.0


class Hit(NamedTuple):
    """One acquisition as the harness saw it (local monotonic clock, seconds)."""

    returned_at: float
    """``time.monotonic()`` right after ``acquire`` returned: the hit's moment."""
    checked_at: float
    """When the gate made its last lateness check."""
    lateness_s: float
    """The gate's bound of how late after its slot start the check was."""


class _GateOptions(NamedTuple):
    min_interval_ms: float
    safety_margin_ms: float
    late_tolerance_ms: float
    horizons: Mapping[Priority, float] | None


def measure(
    redis_url: str,
    *,
    processes: int = 3,
    threads: int = 4,
    duration_s: float = 1.5,
    priority: Priority = "bulk",
    min_interval_ms: float = 50.0,
    safety_margin_ms: float = DEFAULT_SAFETY_MARGIN_MS,
    late_tolerance_ms: float = DEFAULT_LATE_TOLERANCE_MS,
    horizons: Mapping[Priority, float] | None = None,
    cpu_burners: int = 0,
    key_prefix: str | None = None,
    account: str = "harness",
) -> dict[str, Any]:
    """Hammer one account from ``processes`` x ``threads`` callers and return the figures.

    ``cpu_burners`` busy-loop processes run for the whole measurement (one per core makes a
    busy box). The pace key is deleted before and after. Returns a dict: the parameters, the
    number of hits, ``min_gap_ms``, gap percentiles, ``violations`` (gaps below
    ``min_interval_ms``), ``achieved_rate_per_s``, ``ideal_rate_per_s`` (1 / (interval +
    margin)), ``rate_vs_limit`` (achieved / the provider's 1 / interval), how late hits were
    (:func:`delay_figures`) and the summed gate stats of all processes.

    Workers are spawned, so a script calling this needs the ``if __name__ == "__main__":``
    guard.
    """
    keys = Keys(key_prefix or f"nwharness:{uuid.uuid4().hex[:10]}:")
    cleanup = gate_client(redis_url)
    cleanup.delete(keys.pace(account))
    gate_options = _GateOptions(min_interval_ms, safety_margin_ms, late_tolerance_ms, horizons)
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpu_burners)
    ]
    try:
        hits, stats = _run_workers(
            redis_url, keys.prefix, account, priority, gate_options, processes, threads, duration_s
        )
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
        cleanup.delete(keys.pace(account))
        cleanup.close()
    figures: dict[str, Any] = {
        "processes": processes,
        "threads": threads,
        "duration_s": duration_s,
        "priority": priority,
        "cpu_burners": cpu_burners,
        "min_interval_ms": min_interval_ms,
        "safety_margin_ms": safety_margin_ms,
        "late_tolerance_ms": late_tolerance_ms,
        "horizons": dict(horizons or {}),
        **gap_figures([hit.returned_at for hit in hits], min_interval_ms=min_interval_ms),
        **delay_figures(hits, min_interval_ms=min_interval_ms),
        "ideal_rate_per_s": 1000.0 / (min_interval_ms + safety_margin_ms),
        **stats,
    }
    figures["rate_vs_limit"] = figures["achieved_rate_per_s"] * min_interval_ms / 1000.0
    return figures


def gap_figures(timestamps: list[float], *, min_interval_ms: float) -> dict[str, Any]:
    """Gaps between consecutive hits (any process), in ms: min, percentiles, violations, rate."""
    ordered = sorted(timestamps)
    gaps = [(b - a) * 1000.0 for a, b in itertools.pairwise(ordered)]
    if not gaps:
        return {
            "hits": len(ordered),
            "min_gap_ms": None,
            "violations": 0,
            "achieved_rate_per_s": 0.0,
        }
    cuts = statistics.quantiles(gaps, n=100, method="inclusive") if len(gaps) > 1 else gaps * 99
    return {
        "hits": len(ordered),
        "min_gap_ms": min(gaps),
        "p01_gap_ms": cuts[0],
        "median_gap_ms": statistics.median(gaps),
        "p99_gap_ms": cuts[98],
        "max_gap_ms": max(gaps),
        "violations": sum(1 for gap in gaps if gap < min_interval_ms),
        "achieved_rate_per_s": len(gaps) / (ordered[-1] - ordered[0]),
    }


def delay_figures(hits: list[Hit], *, min_interval_ms: float) -> dict[str, Any]:
    """Where the time went: the gate's lateness bounds and the delay after its last check.

    ``post_check`` is the time between the gate's last lateness check and the caller's
    timestamp: the part of a hit's delay the gate cannot see, which only the margin left over
    by the tolerance covers. ``violation_details`` explains each gap below ``min_interval_ms``
    by the earlier hit's lateness bound and post-check delay (ms).
    """
    if not hits:
        return {}
    ordered = sorted(hits)
    lateness = sorted(hit.lateness_s * 1000.0 for hit in ordered)
    post_check = sorted((hit.returned_at - hit.checked_at) * 1000.0 for hit in ordered)
    details = [
        {
            "gap_ms": (later.returned_at - earlier.returned_at) * 1000.0,
            "earlier_lateness_ms": earlier.lateness_s * 1000.0,
            "earlier_post_check_ms": (earlier.returned_at - earlier.checked_at) * 1000.0,
            "later_lateness_ms": later.lateness_s * 1000.0,
        }
        for earlier, later in itertools.pairwise(ordered)
        if (later.returned_at - earlier.returned_at) * 1000.0 < min_interval_ms
    ]
    return {
        "p99_lateness_ms": _percentile(lateness, 0.99),
        "max_lateness_ms": lateness[-1],
        "p99_post_check_ms": _percentile(post_check, 0.99),
        "max_post_check_ms": post_check[-1],
        "violation_details": details,
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _run_workers(
    redis_url: str,
    prefix: str,
    account: str,
    priority: Priority,
    gate_options: _GateOptions,
    processes: int,
    threads: int,
    duration_s: float,
) -> tuple[list[Hit], dict[str, float]]:
    # spawn, not fork: the caller (pytest, a benchmark) may run threads of its own.
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    messages: Any = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                redis_url,
                prefix,
                account,
                priority,
                gate_options,
                threads,
                duration_s,
                go,
                messages,
            ),
            daemon=True,
        )
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    try:
        # Every worker connects first, then all start together.
        for _ in procs:
            _check(_next_message(messages, procs, _SETUP_TIMEOUT_S))
        go.set()
        hits: list[Hit] = []
        totals: dict[str, float] = {}
        for _ in procs:
            mine, stats = _check(_next_message(messages, procs, duration_s + _SETUP_TIMEOUT_S))
            hits.extend(Hit(*hit) for hit in mine)
            for name, value in stats.items():
                totals[name] = totals.get(name, 0) + value
        return hits, totals
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _next_message(messages: Any, procs: list[Any], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return messages.get(timeout=0.2)
        except queue.Empty:
            if any(proc.exitcode not in (None, 0) for proc in procs):
                raise RuntimeError(
                    "a harness worker died (spawned from an unguarded __main__?)"
                ) from None
    raise RuntimeError("harness workers did not report in time")


def _check(message: Any) -> Any:
    if isinstance(message, str) and message != "ready":
        raise RuntimeError(f"harness worker failed: {message}")
    return message


def _worker(
    redis_url: str,
    prefix: str,
    account: str,
    priority: Priority,
    gate_options: _GateOptions,
    threads: int,
    duration_s: float,
    go: Any,
    messages: Any,
) -> None:
    try:
        gate = RedisGate(
            redis_url,
            keys=Keys(prefix),
            min_interval_ms=gate_options.min_interval_ms,
            safety_margin_ms=gate_options.safety_margin_ms,
            late_tolerance_ms=gate_options.late_tolerance_ms,
            horizons=gate_options.horizons,
        )
        gate.warm_up(threads)  # connect before the clock starts
    except Exception as exc:
        messages.put(f"{type(exc).__name__}: {exc}")
        return
    messages.put("ready")
    go.wait()
    stop_at = time.monotonic() + duration_s
    stamps: list[list[tuple[float, float, float]]] = [[] for _ in range(threads)]
    errors: list[str] = []

    def hammer(mine: list[tuple[float, float, float]]) -> None:
        try:
            while time.monotonic() < stop_at:
                acquisition = gate.acquire_slot(account, priority=priority)
                mine.append((time.monotonic(), acquisition.checked_at, acquisition.lateness_s))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=hammer, args=(mine,)) for mine in stamps]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    gate.close()
    if errors:
        messages.put(errors[0])
    else:
        messages.put(([stamp for mine in stamps for stamp in mine], gate.stats.snapshot()))
