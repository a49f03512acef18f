"""Pure figures of the benchmarks: percentiles (with censored samples) and hit-log summaries.

Nothing here touches a clock, a socket or a process, so every rule is unit-tested on fixed data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PERCENTILES = (50, 95, 99)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100) of ``values``.

    Nearest rank always answers with a sample that was measured (no interpolation), so with 40
    samples p99 is the largest: the honest reading for a goal like "p99 ≤ 150 ms".
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be within (0, 100], got {q}")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def censored_percentile(
    observed: Sequence[float], censored: Sequence[float], q: float
) -> tuple[float, bool]:
    """The ``q``-th percentile when some samples are only known to be ``>=`` a bound.

    Returns ``(value, exact)``. Order statistics only grow when a bound is replaced by the true
    value, so the percentile of all lower bounds is a lower bound of the true one; it is exact
    when that rank falls among observed samples that lie below every censored bound.
    """
    if not observed and not censored:
        raise ValueError("percentile of no values")
    total = len(observed) + len(censored)
    rank = max(math.ceil(q / 100 * total), 1)
    floor = min(censored) if censored else math.inf
    below = sorted(v for v in observed if v <= floor)
    if rank <= len(below):
        return below[rank - 1], True
    return percentile([*observed, *censored], q), False


def latency_summary(observed_ms: Sequence[float], censored_ms: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99/max of latencies in ms; censored samples make a figure a ``>=`` bound."""
    summary: dict[str, Any] = {
        "count": len(observed_ms) + len(censored_ms),
        "arrived": len(observed_ms),
        "censored": len(censored_ms),
    }
    if not observed_ms and not censored_ms:
        return summary
    for q in (*PERCENTILES, 100):
        value, exact = censored_percentile(observed_ms, censored_ms, q)
        name = "max" if q == 100 else f"p{q}"
        summary[f"{name}_ms"] = round(value, 1)
        summary[f"{name}_exact"] = exact
    return summary


def format_latency(summary: Mapping[str, Any], name: str) -> str:
    """``"123"`` for an exact figure, ``">= 250000"`` for a censored one, ``"-"`` for none."""
    value = summary.get(f"{name}_ms")
    if value is None:
        return "-"
    text = f"{value:.0f}"
    return text if summary.get(f"{name}_exact", True) else f">= {text}"


def span_rate(times: Iterable[float]) -> tuple[float | None, float | None]:
    """``(events per second, span in s)`` from the first to the last of ``times``.

    ``n`` events bound ``n - 1`` intervals, so the rate is ``(n - 1) / span``.
    """
    ordered = sorted(times)
    if len(ordered) < 2 or ordered[-1] <= ordered[0]:
        return None, None
    span = ordered[-1] - ordered[0]
    return (len(ordered) - 1) / span, span


def hit_figures(hits: Sequence[Mapping[str, Any]], *, rule_per_s: float) -> dict[str, Any]:
    """What the sandbox saw of one account: rates, violations, minimum gap, 429s.

    ``hits`` are the sandbox's hit dicts (``t``, ``gap_ms``, ``violation``, ``status``,
    ``accepted``). The achieved rate counts every hit from the first to the last; the
    delivered rate counts only accepted sends over their own first-to-last span.
    """
    rate, span = span_rate(h["t"] for h in hits)
    delivered, delivered_span = span_rate(h["t"] for h in hits if h.get("accepted"))
    gaps = [h["gap_ms"] for h in hits if h.get("gap_ms") is not None]
    return {
        "hits": len(hits),
        "accepted_sends": sum(1 for h in hits if h.get("accepted")),
        "violations": sum(1 for h in hits if h.get("violation")),
        "http_429": sum(1 for h in hits if h.get("status") == 429),
        "min_gap_ms": round(min(gaps), 3) if gaps else None,
        "span_s": None if span is None else round(span, 3),
        "hits_per_s": None if rate is None else round(rate, 3),
        "rate_fraction": None if rate is None else round(rate / rule_per_s, 4),
        "delivered_per_s": None if delivered is None else round(delivered, 3),
        "delivered_span_s": None if delivered_span is None else round(delivered_span, 3),
    }


def count_between(times: Iterable[float], start: float, end: float) -> int:
    """How many of ``times`` fall within ``[start, end]``."""
    return sum(1 for t in times if start <= t <= end)


def cost_figures(
    cpu_s: Mapping[str, float | None], peak_rss_kib: Mapping[str, int | None], messages: int
) -> dict[str, Any]:
    """CPU seconds per 1,000 messages (all workers together) and peak RSS per worker (MiB).

    A worker whose figures could not be read (it died) is shown as ``None`` and left out of the
    totals, which are then marked incomplete.
    """
    per_worker = {
        name: {
            "cpu_s": cpu_s.get(name),
            "peak_rss_mib": None
            if peak_rss_kib.get(name) is None
            else round(int(peak_rss_kib[name] or 0) / 1024, 1),
        }
        for name in sorted(set(cpu_s) | set(peak_rss_kib))
    }
    cpu_known = [v for v in cpu_s.values() if v is not None]
    rss_known = [w["peak_rss_mib"] for w in per_worker.values() if w["peak_rss_mib"] is not None]
    total = sum(cpu_known)
    return {
        "per_worker": per_worker,
        "cpu_s_total": round(total, 3),
        "cpu_s_per_1000_messages": round(total / messages * 1000, 3) if messages else None,
        "peak_rss_mib_max": max(rss_known) if rss_known else None,
        "complete": len(cpu_known) == len(cpu_s) and len(rss_known) == len(per_worker),
    }


# More than a quarter of a core used by processes outside the bench (Redis included) during a
# scenario: its figures may be disturbed (e.g. another test run on the same box).
DISTURBED_CORES = 0.25


def contention(
    *,
    busy_s: float,
    own_s: float,
    workers_s: Mapping[str, float | None],
    wall_s: float,
    nproc: int,
) -> dict[str, Any]:
    """How busy the machine was during a scenario, and how much of it was not the bench.

    ``busy_s``: busy CPU seconds of the whole machine; ``own_s``: of the bench process (the
    sandbox and the producer run there); ``workers_s``: of each worker process. What is left is
    everyone else's, Redis included.
    """
    other = busy_s - own_s - sum(v for v in workers_s.values() if v is not None)
    other = max(other, 0.0)
    cores = other / wall_s if wall_s > 0 else 0.0
    return {
        "machine_busy_share": round(busy_s / (wall_s * nproc), 3) if wall_s > 0 else None,
        "bench_process_cpu_s": round(own_s, 3),
        "other_cpu_s": round(other, 3),
        "other_cores": round(cores, 3),
        "disturbed": cores > DISTURBED_CORES,
    }
