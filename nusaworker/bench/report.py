"""Shaping the bench results: goals met or not, ratios against the baselines, the cost of a
send, the JSON files.

Everything but :func:`machine_info`, :func:`redis_version` and :func:`write_report` is pure: a
results dict in, a report dict out. The printed table is :mod:`.table`'s.

Results layout: ``pacing[<variant>][<gate>]`` and ``otp["priority"][<gate>]`` are rows of our
fleet; ``baselines["naive_rate_limit" | "serial"]`` and ``otp["fifo"]`` the baselines'.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nusaworker.bench.layouts import GATES, PACING_VARIANTS, VARIANTS_BY_NAME

# Achieved hits/s as a fraction of the rule's 20/s: quiet box, box with busy loops.
RATE_GOAL_QUIET = 0.97
RATE_GOAL_HOGS = 0.90
OTP_P99_GOAL_MS = 100.0
# Where the cost of a send is read: one --pool threads -c 8 worker on a quiet box.
COST_VARIANT = "threads8"

Results = Mapping[str, Any]


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    import celery
    import kombu
    import redis

    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "redis_py": redis.__version__,
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def redis_version(url: str) -> str | None:
    """The version of the Redis server at ``url``."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return str(client.info("server").get("redis_version"))
    finally:
        client.close()


def get(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]…``, or None where a step is missing."""
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def _ratio(a: Any, b: Any) -> float | None:
    if a is None or b is None or not b:
        return None
    return round(float(a) / float(b), 2)


def gate_order(gates: Any) -> list[str]:
    """The gates of a row group, known ones first in their usual order."""
    names = list(gates) if isinstance(gates, Mapping) else []
    return [g for g in GATES if g in names] + sorted(g for g in names if g not in GATES)


def pacing_rows(results: Results) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """``(variant, gate, row)`` of every pacing run, in table order."""
    pacing = results.get("pacing") or {}
    known = [v.name for v in PACING_VARIANTS]
    for name in [*[n for n in known if n in pacing], *sorted(n for n in pacing if n not in known)]:
        for gate in gate_order(pacing[name]):
            yield name, gate, pacing[name][gate]


def rate_goal(variant: str) -> float:
    """The hits/s fraction a variant must reach: lower beside busy loops."""
    spec = VARIANTS_BY_NAME.get(variant)
    return RATE_GOAL_HOGS if spec is not None and spec.hogs else RATE_GOAL_QUIET


def pacing_verdicts(variant: str, row: Mapping[str, Any]) -> dict[str, bool]:
    """``{"violations": met?, "rate": met?}`` of one pacing row (an unfinished run misses both
    only if its figures do)."""
    violations = get(row, "sandbox", "violations")
    fraction = get(row, "sandbox", "rate_fraction")
    return {
        "violations": violations == 0,
        "rate": fraction is not None and fraction >= rate_goal(variant),
    }


def otp_verdict(row: Mapping[str, Any]) -> bool:
    """Whether an OTP row's p99 is known to be within the goal (a censored p99 is not)."""
    p99 = get(row, "latency", "p99_ms")
    return p99 is not None and bool(get(row, "latency", "p99_exact")) and p99 <= OTP_P99_GOAL_MS


def goals(results: Results) -> list[dict[str, Any]]:
    """Each goal of the issue, per run, with its measured value and whether it was met."""
    out: list[dict[str, Any]] = []
    for variant, gate, row in pacing_rows(results):
        verdicts = pacing_verdicts(variant, row)
        goal = rate_goal(variant)
        out.append(
            {
                "goal": f"pacing {variant}, {gate} gate: 0 violations",
                "scenario": variant,
                "gate": gate,
                "value": get(row, "sandbox", "violations"),
                "met": verdicts["violations"],
            }
        )
        out.append(
            {
                "goal": f"pacing {variant}, {gate} gate: hits/s >= {goal} x 20/s",
                "scenario": variant,
                "gate": gate,
                "value": get(row, "sandbox", "rate_fraction"),
                "met": verdicts["rate"],
            }
        )
    priority = get(results, "otp", "priority") or {}
    for gate in gate_order(priority):
        row = priority[gate]
        out.append(
            {
                "goal": f"OTP under backlog, {gate} gate: p99 <= {OTP_P99_GOAL_MS:.0f} ms",
                "scenario": "otp",
                "gate": gate,
                "value": get(row, "latency", "p99_ms"),
                "met": otp_verdict(row),
            }
        )
        out.append(
            {
                "goal": f"OTP under backlog, {gate} gate: 0 violations",
                "scenario": "otp",
                "gate": gate,
                "value": row.get("violations"),
                "met": row.get("violations") == 0,
            }
        )
    return out


def reference_row(results: Results) -> Mapping[str, Any] | None:
    """The row the baselines are compared with: the first quiet pacing run, causal gate first."""
    for _, _, row in pacing_rows(results):
        return row
    return None


def cost_per_send(results: Results) -> dict[str, Any]:
    """Gate → what one send cost one ``--pool threads -c 8`` worker and Redis (quiet box)."""
    out: dict[str, Any] = {}
    group = get(results, "pacing", COST_VARIANT) or {}
    for gate in gate_order(group):
        row = group[gate]
        out[gate] = {
            "cpu_s_per_1000_sends": get(row, "cost", "cpu_s_per_1000_messages"),
            "peak_rss_mib": get(row, "cost", "peak_rss_mib_max"),
            "redis_script_calls_per_send": get(row, "redis", "script_calls_per_send"),
            "redis_commands_per_send": get(row, "redis", "commands_per_send"),
            "redis_cpu_s_per_1000_sends": get(row, "redis", "redis_cpu_s_per_1000_sends"),
        }
    return out


def ratios(results: Results) -> dict[str, Any]:
    """Our figures against the baselines, and the causal gate against the slots gate."""
    ours = reference_row(results)
    naive = get(results, "baselines", "naive_rate_limit")
    serial = get(results, "baselines", "serial")
    cpu = ("cost", "cpu_s_per_1000_messages")
    out: dict[str, Any] = {
        "hits_per_s_ours_over_serial": _ratio(
            get(ours, "sandbox", "hits_per_s"), get(serial, "sandbox", "hits_per_s")
        ),
        "delivered_per_s_ours_over_naive": _ratio(
            get(ours, "sandbox", "delivered_per_s"), get(naive, "sandbox", "delivered_per_s")
        ),
        "violations": {
            "ours": get(ours, "sandbox", "violations"),
            "naive_rate_limit": get(naive, "sandbox", "violations"),
            "serial": get(serial, "sandbox", "violations"),
        },
        "cpu_per_1000_ours_over_naive": _ratio(get(ours, *cpu), get(naive, *cpu)),
        "cpu_per_1000_ours_over_serial": _ratio(get(ours, *cpu), get(serial, *cpu)),
        "causal_over_slots": {},
    }
    for variant, group in (results.get("pacing") or {}).items():
        causal, slots = group.get("causal"), group.get("slots")
        if causal is None or slots is None:
            continue
        out["causal_over_slots"][variant] = {
            "hits_per_s": _ratio(
                get(causal, "sandbox", "hits_per_s"), get(slots, "sandbox", "hits_per_s")
            ),
            "cpu_per_1000": _ratio(get(causal, *cpu), get(slots, *cpu)),
            "script_calls_per_send": _ratio(
                get(causal, "redis", "script_calls_per_send"),
                get(slots, "redis", "script_calls_per_send"),
            ),
        }
    priority = get(results, "otp", "priority") or {}
    fifo = get(results, "otp", "fifo")
    for gate in gate_order(priority):
        for q in ("p50", "p99"):
            mine = priority[gate]
            ratio = _ratio(get(fifo, "latency", f"{q}_ms"), get(mine, "latency", f"{q}_ms"))
            exact = bool(get(fifo, "latency", f"{q}_exact")) and bool(
                get(mine, "latency", f"{q}_exact")
            )
            key = f"otp_{q}_fifo_over_priority_{gate}"
            out[key] = ratio
            # A censored FIFO figure is a lower bound, so the ratio is one too.
            out[f"{key}_exact"] = exact if ratio is not None else None
    return out


def build_report(
    *, machine: Mapping[str, Any], params: Mapping[str, Any], results: Results, duration_s: float
) -> dict[str, Any]:
    """The whole JSON document."""
    return {
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(duration_s, 1),
        "machine": dict(machine),
        "parameters": dict(params),
        "results": dict(results),
        "ratios": ratios(results),
        "cost_per_send": cost_per_send(results),
        "goals": goals(results),
    }


def write_report(report: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``bench-<UTC timestamp>.json`` and ``latest.json``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    dated = out_dir / f"bench-{stamp}.json"
    latest = out_dir / "latest.json"
    dated.write_text(text)
    latest.write_text(text)
    return dated, latest
