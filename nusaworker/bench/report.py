"""Shaping the bench results: ratios against the baselines, goals, the table, the JSON files.

Everything but :func:`machine_info` and :func:`write_report` is pure: a results dict in, a
report dict or text out.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nusaworker.bench.stats import format_latency

RATE_GOAL = 0.95  # achieved hits/s as a fraction of the rule's 20/s
OTP_P99_GOAL_MS = 150.0

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


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def _ratio(a: Any, b: Any) -> float | None:
    if a is None or b is None or not b:
        return None
    return round(float(a) / float(b), 2)


def ratios(results: Results) -> dict[str, Any]:
    """Our figures against the baselines (None where a scenario did not run)."""
    pacing = results.get("pacing", {})
    ours, naive, serial = (pacing.get(k) for k in ("ours", "naive_rate_limit", "serial"))
    priority, fifo = (results.get("otp", {}).get(k) for k in ("priority", "fifo"))
    cpu = ("cost", "cpu_s_per_1000_messages")
    out: dict[str, Any] = {
        "hits_per_s_ours_over_serial": _ratio(
            _get(ours, "sandbox", "hits_per_s"), _get(serial, "sandbox", "hits_per_s")
        ),
        "delivered_per_s_ours_over_naive": _ratio(
            _get(ours, "sandbox", "delivered_per_s"), _get(naive, "sandbox", "delivered_per_s")
        ),
        "violations": {
            "ours": _get(ours, "sandbox", "violations"),
            "naive_rate_limit": _get(naive, "sandbox", "violations"),
            "serial": _get(serial, "sandbox", "violations"),
        },
        "cpu_per_1000_ours_over_naive": _ratio(_get(ours, *cpu), _get(naive, *cpu)),
        "cpu_per_1000_ours_over_serial": _ratio(_get(ours, *cpu), _get(serial, *cpu)),
    }
    for q in ("p50", "p99"):
        ratio = _ratio(_get(fifo, "latency", f"{q}_ms"), _get(priority, "latency", f"{q}_ms"))
        exact = bool(_get(fifo, "latency", f"{q}_exact")) and bool(
            _get(priority, "latency", f"{q}_exact")
        )
        out[f"otp_{q}_fifo_over_priority"] = ratio
        # A censored FIFO figure is a lower bound, so the ratio is one too.
        out[f"otp_{q}_fifo_over_priority_exact"] = exact if ratio is not None else None
    return out


def goals(results: Results) -> list[dict[str, Any]]:
    """Each goal of the issue with its measured value and whether it was met."""
    ours = _get(results, "pacing", "ours")
    priority = _get(results, "otp", "priority")
    out: list[dict[str, Any]] = []
    if ours is not None:
        fraction = _get(ours, "sandbox", "rate_fraction")
        out.append(
            {
                "goal": f"pacing: achieved rate >= {RATE_GOAL} x 20/s",
                "value": fraction,
                "met": fraction is not None and fraction >= RATE_GOAL,
            }
        )
        violations = _get(ours, "sandbox", "violations")
        out.append({"goal": "pacing: 0 violations", "value": violations, "met": violations == 0})
    if priority is not None:
        p99 = _get(priority, "latency", "p99_ms")
        exact = bool(_get(priority, "latency", "p99_exact"))
        out.append(
            {
                "goal": f"OTP under backlog: p99 <= {OTP_P99_GOAL_MS:.0f} ms",
                "value": p99,
                "met": p99 is not None and exact and p99 <= OTP_P99_GOAL_MS,
            }
        )
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
        "goals": goals(results),
    }


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


PACING_ROWS = (
    ("ours", "ours: Redis gate"),
    ("naive_rate_limit", "Celery rate_limit=20/s"),
    ("serial", "serial: 1 process, -c 1"),
)
OTP_ROWS = (("priority", "ours: otp queue + worker"), ("fifo", "one FIFO queue"))


def render_table(report: Mapping[str, Any]) -> str:
    """The compact, markdown-ish summary printed at the end of a run."""
    results = report.get("results", {})
    params = report.get("parameters", {})
    lines = [
        f"nusaworker bench — {report.get('created_utc')}, "
        f"{_get(report, 'machine', 'nproc')} CPUs, Python {_get(report, 'machine', 'python')}, "
        f"sandbox latency {params.get('latency_ms')} ± {params.get('latency_jitter_ms')} ms, "
        f"rule 1 hit / {params.get('min_interval_ms')} ms (429 enforced)",
        "",
    ]
    pacing = results.get("pacing", {})
    if pacing:
        lines += [
            "| pacing | processes x threads | sends (delivered) | hits/s | of 20/s | delivered/s "
            "| violations | 429s | min gap ms | CPU s / 1000 msgs | peak RSS MiB |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for key, label in PACING_ROWS:
            row = pacing.get(key)
            if row is None:
                continue
            lines.append(_pacing_row(label, row))
        lines.append("")
    otp = results.get("otp", {})
    if otp:
        lines += [
            "| OTP under backlog | backlog | OTPs | arrived | p50 ms | p95 ms | p99 ms | max ms "
            "| bulk sent meanwhile | bulk/s |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for key, label in OTP_ROWS:
            row = otp.get(key)
            if row is None:
                continue
            lat = row["latency"]
            cells = " | ".join(format_latency(lat, q) for q in ("p50", "p95", "p99", "max"))
            lines.append(
                f"| {label} | {row['backlog']} | {row['otps']} | {lat['arrived']} | {cells} "
                f"| {row['bulk_sent_during_otps']} | {_fmt(row['bulk_rate_during_otps_per_s'])} |"
            )
        lines.append("")
    lines += _disturbance_lines(results)
    rat = report.get("ratios", {})
    lines += _ratio_lines(rat)
    for goal in report.get("goals", []):
        verdict = "GOAL MET   " if goal["met"] else "GOAL MISSED"
        lines.append(f"{verdict} {goal['goal']} (measured: {_fmt(goal['value'], 3)})")
    return "\n".join(lines)


def _disturbance_lines(results: Results) -> list[str]:
    lines = []
    for group in ("pacing", "otp"):
        for name, row in (results.get(group) or {}).items():
            machine = row.get("machine") or {}
            if machine.get("disturbed"):
                lines.append(
                    f"note: {group}/{name}: other processes (Redis included) used "
                    f"{machine['other_cores']:.2f} cores meanwhile; figures may be disturbed"
                )
    return [*lines, ""] if lines else []


def _pacing_row(label: str, row: Mapping[str, Any]) -> str:
    sb, cost = row["sandbox"], row["cost"]
    done = "" if row.get("finished") else " (unfinished)"
    cells = [
        f"{label}{done}",
        f"{row['processes']} x {row['threads_per_process']}",
        f"{row['messages']} ({sb['accepted_sends']})",
        _fmt(sb["hits_per_s"]),
        _fmt(sb["rate_fraction"], 3),
        _fmt(sb["delivered_per_s"]),
        str(sb["violations"]),
        str(sb["http_429"]),
        _fmt(sb["min_gap_ms"]),
        _fmt(cost["cpu_s_per_1000_messages"]),
        _fmt(cost["peak_rss_mib_max"], 1),
    ]
    return "| " + " | ".join(cells) + " |"


def _ratio_lines(rat: Mapping[str, Any]) -> list[str]:
    lines = []
    if rat.get("hits_per_s_ours_over_serial") is not None:
        lines.append(f"rate: ours / serial worker = {rat['hits_per_s_ours_over_serial']}x")
    if rat.get("delivered_per_s_ours_over_naive") is not None:
        lines.append(
            f"delivered/s: ours / Celery rate_limit = {rat['delivered_per_s_ours_over_naive']}x"
        )
    vio = rat.get("violations") or {}
    if any(v is not None for v in vio.values()):
        lines.append(
            "violations: ours {ours}, Celery rate_limit {naive_rate_limit}, serial {serial}".format(
                **{k: _fmt(v) for k, v in vio.items()}
            )
        )
    for other in ("naive", "serial"):
        value = rat.get(f"cpu_per_1000_ours_over_{other}")
        if value is not None:
            lines.append(f"CPU per 1000 msgs: ours / {other} = {value}x")
    for q in ("p50", "p99"):
        value = rat.get(f"otp_{q}_fifo_over_priority")
        if value is not None:
            bound = "" if rat.get(f"otp_{q}_fifo_over_priority_exact") else ">= "
            lines.append(f"OTP {q}: FIFO / ours = {bound}{value}x")
    return [*lines, ""] if lines else []


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
