"""The compact, markdown-ish summary printed at the end of a bench run (pure: report in, text
out). Every goal of a row has a verdict column of its own: ``met`` or ``not met``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nusaworker.bench.layouts import VARIANTS_BY_NAME
from nusaworker.bench.report import (
    OTP_P99_GOAL_MS,
    gate_order,
    get,
    otp_verdict,
    pacing_rows,
    pacing_verdicts,
    rate_goal,
)
from nusaworker.bench.stats import format_latency

BASELINE_ROWS = (
    ("naive_rate_limit", "Celery rate_limit=20/s per worker"),
    ("serial", "serial: 1 process, -c 1"),
)


def fmt(value: Any, digits: int = 2) -> str:
    """A table cell: ``-`` for a missing figure, floats to ``digits`` places."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def render_table(report: Mapping[str, Any]) -> str:
    """Header, pacing table, baselines, OTP table, cost of a send, ratios, goal summary."""
    results = report.get("results", {})
    params = report.get("parameters", {})
    lines = [
        f"nusaworker bench — {report.get('created_utc')}, "
        f"{get(report, 'machine', 'nproc')} CPUs, Python {get(report, 'machine', 'python')}, "
        f"sandbox latency {params.get('latency_ms')} ± {params.get('latency_jitter_ms')} ms, "
        f"rule 1 hit / {params.get('min_interval_ms')} ms (429 enforced), "
        f"sends at priority {params.get('priority', '-')}",
        "",
    ]
    lines += _pacing_table(results)
    lines += _baseline_table(results)
    lines += _otp_table(results)
    lines += _cost_lines(report.get("cost_per_send") or {})
    lines += _note_lines(results)
    lines += _ratio_lines(report.get("ratios") or {})
    lines += _goal_lines(report.get("goals") or [])
    return "\n".join(lines).rstrip() + "\n"


def _pacing_table(results: Mapping[str, Any]) -> list[str]:
    rows = list(pacing_rows(results))
    if not rows:
        return []
    lines = [
        "| pacing run | gate | sends (delivered) | hits/s | of 20/s | goal | rate "
        "| violations | 0 violations | 429s | min gap ms | CPU s / 1000 sends | peak RSS MiB "
        "| script calls / send | Redis cmds / send |",
        "|---|---|--:|--:|--:|--:|---|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for variant, gate, row in rows:
        spec = VARIANTS_BY_NAME.get(variant)
        label = spec.label if spec is not None else variant
        done = "" if row.get("finished") else " (unfinished)"
        sb, cost = row.get("sandbox") or {}, row.get("cost") or {}
        verdicts = pacing_verdicts(variant, row)
        cells = [
            f"{label}{done}",
            gate,
            f"{row.get('messages')} ({fmt(sb.get('accepted_sends'))})",
            fmt(sb.get("hits_per_s")),
            fmt(sb.get("rate_fraction"), 3),
            f">= {rate_goal(variant):.2f}",
            verdict(verdicts["rate"]),
            fmt(sb.get("violations")),
            verdict(verdicts["violations"]),
            fmt(sb.get("http_429")),
            fmt(sb.get("min_gap_ms")),
            fmt(cost.get("cpu_s_per_1000_messages")),
            fmt(cost.get("peak_rss_mib_max"), 1),
            fmt(get(row, "redis", "script_calls_per_send")),
            fmt(get(row, "redis", "commands_per_send"), 1),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _baseline_table(results: Mapping[str, Any]) -> list[str]:
    baselines = results.get("baselines") or {}
    if not baselines:
        return []
    lines = [
        "| baseline | processes | sends (delivered) | hits/s | of 20/s | delivered/s "
        "| violations | 429s | min gap ms | CPU s / 1000 sends |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, label in BASELINE_ROWS:
        row = baselines.get(key)
        if row is None:
            continue
        sb, cost = row.get("sandbox") or {}, row.get("cost") or {}
        done = "" if row.get("finished") else " (unfinished)"
        cells = [
            f"{label}{done}",
            ", ".join(str(f).split(": ", 1)[-1] for f in row.get("fleet", [])) or "-",
            f"{row.get('messages')} ({fmt(sb.get('accepted_sends'))})",
            fmt(sb.get("hits_per_s")),
            fmt(sb.get("rate_fraction"), 3),
            fmt(sb.get("delivered_per_s")),
            fmt(sb.get("violations")),
            fmt(sb.get("http_429")),
            fmt(sb.get("min_gap_ms")),
            fmt(cost.get("cpu_s_per_1000_messages")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _otp_table(results: Mapping[str, Any]) -> list[str]:
    otp = results.get("otp") or {}
    priority = otp.get("priority") or {}
    labelled = [
        (f"ours: otp queue first, {gate} gate", priority[gate], True)
        for gate in gate_order(priority)
    ]
    if otp.get("fifo") is not None:
        labelled.append(("one FIFO queue", otp["fifo"], False))
    if not labelled:
        return []
    lines = [
        f"| OTP under backlog | backlog | OTPs | arrived | p50 ms | p95 ms | p99 ms | max ms "
        f"| p99 <= {OTP_P99_GOAL_MS:.0f} ms | bulk sent meanwhile | bulk/s | violations "
        "| 0 violations |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|",
    ]
    for label, row, judged in labelled:
        lat = row.get("latency") or {}
        cells = " | ".join(format_latency(lat, q) for q in ("p50", "p95", "p99", "max"))
        goal = verdict(otp_verdict(row)) if judged else "(baseline)"
        clean = verdict(row.get("violations") == 0) if judged else "(baseline)"
        lines.append(
            f"| {label} | {row.get('backlog')} | {row.get('otps')} | {fmt(lat.get('arrived'))} "
            f"| {cells} | {goal} | {fmt(row.get('bulk_sent_during_otps'))} "
            f"| {fmt(row.get('bulk_rate_during_otps_per_s'))} | {fmt(row.get('violations'))} "
            f"| {clean} |"
        )
    return [*lines, ""]


def _cost_lines(cost: Mapping[str, Any]) -> list[str]:
    lines = []
    for gate, c in cost.items():
        lines.append(
            f"cost per send, one --pool threads -c 8 worker, {gate} gate: "
            f"{fmt(c.get('cpu_s_per_1000_sends'))} CPU s / 1000 sends, "
            f"peak RSS {fmt(c.get('peak_rss_mib'), 1)} MiB, "
            f"{fmt(c.get('redis_script_calls_per_send'))} Redis script calls / send, "
            f"{fmt(c.get('redis_commands_per_send'), 1)} Redis commands / send "
            f"(incl. those inside scripts), Redis CPU "
            f"{fmt(c.get('redis_cpu_s_per_1000_sends'))} s / 1000 sends"
        )
    return [*lines, ""] if lines else []


def _note_lines(results: Mapping[str, Any]) -> list[str]:
    lines = []
    named: list[tuple[str, Mapping[str, Any]]] = [
        (f"pacing/{variant}/{gate}", row) for variant, gate, row in pacing_rows(results)
    ]
    named += [(f"baselines/{k}", v) for k, v in (results.get("baselines") or {}).items()]
    otp = results.get("otp") or {}
    named += [(f"otp/priority/{g}", r) for g, r in (otp.get("priority") or {}).items()]
    if otp.get("fifo") is not None:
        named.append(("otp/fifo", otp["fifo"]))
    for name, row in named:
        machine = row.get("machine") or {}
        if machine.get("disturbed"):
            lines.append(
                f"note: {name}: other processes (Redis included) used "
                f"{machine['other_cores']:.2f} cores meanwhile; figures may be disturbed"
            )
        lines += [f"note: {name}: {note}" for note in row.get("notes") or []]
        if row.get("logs"):
            lines.append(f"note: {name}: worker logs kept in {row['logs']}")
    return [*lines, ""] if lines else []


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
                **{k: fmt(v) for k, v in vio.items()}
            )
        )
    for other in ("naive", "serial"):
        value = rat.get(f"cpu_per_1000_ours_over_{other}")
        if value is not None:
            lines.append(f"CPU per 1000 sends: ours / {other} = {value}x")
    for variant, r in (rat.get("causal_over_slots") or {}).items():
        lines.append(
            f"causal / slots, {variant}: hits/s {fmt(r.get('hits_per_s'))}x, "
            f"CPU {fmt(r.get('cpu_per_1000'))}x, "
            f"script calls {fmt(r.get('script_calls_per_send'))}x"
        )
    for key, value in rat.items():
        if key.startswith("otp_") and not key.endswith("_exact") and value is not None:
            _, q, *_, gate = key.split("_")
            bound = "" if rat.get(f"{key}_exact") else ">= "
            lines.append(f"OTP {q}: FIFO / ours ({gate} gate) = {bound}{value}x")
    return [*lines, ""] if lines else []


def _goal_lines(goals: list[Mapping[str, Any]]) -> list[str]:
    if not goals:
        return []
    met = sum(1 for g in goals if g.get("met"))
    lines = [f"goals met: {met} of {len(goals)}"]
    for goal in goals:
        if not goal.get("met"):
            lines.append(f"GOAL NOT MET {goal['goal']} (measured: {fmt(goal.get('value'), 3)})")
    return lines
