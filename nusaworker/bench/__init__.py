"""``make bench`` / ``nusaworker bench``: pacing in each pool layout, OTP latency under backlog
and the cost of a send, measured side by side against naive baselines, on the provider sandbox
and real worker processes, through both pacing gates.

Scenarios (all in one run; ``--only`` picks some, or a group: ``pacing``, ``quiet``, ``hogs``,
``baselines``, ``latency``):

* ``default`` / ``prefork`` / ``threads8`` and each again with ``-hogs`` — a WhatsApp batch
  through the fleet as a new user lays it out (:mod:`.layouts`), with the default pool,
  ``--pool prefork``, or one ``--pool threads -c 8`` worker; ``-hogs`` runs two busy loops
  meanwhile. Each runs once per gate (``--gates``: ``causal`` and ``slots``, passed to the
  workers as ``NUSAWORKER_PACING_GATE``), with each worker's CPU seconds and peak RSS
  (:mod:`.procstat`) and the Redis script calls and commands per send (:mod:`.redisstats`).
* ``naive`` / ``serial`` — the same batch paced by Celery's per-worker ``rate_limit``, and
  through one serial worker (:mod:`.pacing_bench`).
* ``otp`` / ``fifo`` — OTPs injected while a bulk backlog drains, with their own queue and
  worker (once per gate), and with everything on one FIFO queue (:mod:`.otp_bench`).

The bench runs its own ``redis-server`` on a free port (so that nobody else's commands are
counted). Results go to ``bench-results/bench-<UTC timestamp>.json`` and
``bench-results/latest.json``; a table is printed (:mod:`.report`, :mod:`.table`). The exit
status is 0 whenever the run completed, whether or not each goal was met. Every Redis key lives
under ``nwbench:<hex>:``; every process started is stopped, also on Ctrl-C.

This package's ``__init__`` imports nothing heavy: workers import :mod:`.naive_tasks` from it.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from nusaworker.bench.params import SCENARIOS, BenchParams, parse_args

if TYPE_CHECKING:
    from nusaworker.bench.rig import Rig

__all__ = ["SCENARIOS", "BenchParams", "main", "parse_args", "run_scenarios"]


def _say(text: str) -> None:
    print(text, flush=True)


# A run returns where its row goes — (group, key, gate or None) — and the row.
Run = Callable[[], tuple[str, str, str | None, Any]]
Step = tuple[str, str, Run]


def plan(rig: Rig, params: BenchParams) -> list[Step]:
    """The runs of the chosen scenarios in order: ``(scenario, gate or "", run)``.

    Each ``run()`` returns ``(group, key, gate or None, row)``: where its row goes in the
    results (``results[group][key]``, or ``results[group][key][gate]``).
    """
    from nusaworker.bench import otp_bench, pacing_bench
    from nusaworker.bench.layouts import VARIANTS_BY_NAME

    def variant(name: str, gate: str) -> Run:
        return lambda: (
            "pacing",
            name,
            gate,
            pacing_bench.run_variant(
                rig,
                VARIANTS_BY_NAME[name],
                gate=gate,
                messages=params.pacing_messages,
                priority=params.priority,
            ),
        )

    def otp(gate: str) -> Run:
        return lambda: (
            "otp",
            "priority",
            gate,
            otp_bench.run_priority(rig, backlog=params.backlog, otps=params.otps, gate=gate),
        )

    def naive() -> tuple[str, str, str | None, Any]:
        row = pacing_bench.run_naive(rig, messages=params.naive_messages)
        return "baselines", "naive_rate_limit", None, row

    def serial() -> tuple[str, str, str | None, Any]:
        row = pacing_bench.run_serial(
            rig, messages=params.serial_messages, priority=params.priority
        )
        return "baselines", "serial", None, row

    def fifo() -> tuple[str, str, str | None, Any]:
        row = otp_bench.run_fifo(
            rig, backlog=params.backlog, otps=params.otps, timeout=params.fifo_timeout_s
        )
        return "otp", "fifo", None, row

    steps: list[Step] = []
    for name in params.scenarios:
        if name in VARIANTS_BY_NAME:
            steps += [(name, gate, variant(name, gate)) for gate in params.gates]
        elif name == "otp":
            steps += [(name, gate, otp(gate)) for gate in params.gates]
        else:
            steps.append((name, "", {"naive": naive, "serial": serial, "fifo": fifo}[name]))
    return steps


def run_scenarios(rig: Rig, params: BenchParams) -> dict[str, Any]:
    """Run the chosen scenarios one after the other; each has its own sandbox and keys."""
    results: dict[str, Any] = {}
    steps = plan(rig, params)
    for index, (name, gate, run) in enumerate(steps, start=1):
        started = time.monotonic()
        title = f"{name} ({gate} gate)" if gate else name
        _say(f"[bench] {index}/{len(steps)} {title} …")
        group, key, row_gate, row = run()
        slot = results.setdefault(group, {})
        if row_gate is None:
            slot[key] = row
        else:
            slot.setdefault(key, {})[row_gate] = row
        _say(f"[bench] {title} done in {time.monotonic() - started:.1f} s")
    return results


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same way out as Ctrl-C: every finally block stops what it started.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nusaworker bench``; 0 when the run completed (goals met or not)."""
    from nusaworker.bench.report import build_report, machine_info, redis_version, write_report
    from nusaworker.bench.rig import (
        LATENCY_JITTER_MS,
        LATENCY_MS,
        MIN_INTERVAL_MS,
        Rig,
        load_1m,
    )
    from nusaworker.bench.table import render_table
    from nusaworker.testing.redis_server import private_redis

    args = parse_args(argv)
    params = BenchParams.from_args(args)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.monotonic()
    machine = machine_info()
    try:
        with (
            private_redis() as redis_url,
            tempfile.TemporaryDirectory(prefix="nusaworker-bench-") as logdir,
        ):
            machine["redis_server"] = redis_version(redis_url)
            prefix = f"nwbench:{uuid.uuid4().hex[:10]}:"
            rig = Rig(
                redis_url,
                prefix,
                seed=params.seed,
                logdir=Path(logdir),
                keep_logs=args.out_dir / "logs" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            )
            _say(f"[bench] redis {redis_url}, key prefix {rig.run_prefix}, quick={params.quick}")
            try:
                results = run_scenarios(rig, params)
            finally:
                rig.sweep()
    except KeyboardInterrupt:
        print("[bench] interrupted; everything started was stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    machine["kernel_timestamps"] = rig.kernel_timestamps
    machine["loadavg_1m_at_end"] = load_1m()
    report = build_report(
        machine=machine,
        params={
            **dataclasses.asdict(params),
            "latency_ms": LATENCY_MS,
            "latency_jitter_ms": LATENCY_JITTER_MS,
            "min_interval_ms": MIN_INTERVAL_MS,
        },
        results=results,
        duration_s=time.monotonic() - started,
    )
    dated, latest = write_report(report, args.out_dir)
    _say("")
    _say(render_table(report))
    _say(f"results: {dated} (and {latest})")
    return 0
