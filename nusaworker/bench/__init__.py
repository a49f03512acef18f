"""``make bench`` / ``nusaworker bench``: pacing, OTP latency under backlog and cost, measured
side by side against naive baselines, on the provider sandbox and real worker processes.

Scenarios (all in one run; ``--only`` picks some):

* ``ours`` / ``naive`` / ``serial`` — a WhatsApp batch through our fleet (Redis gate), through
  the same fleet paced by Celery's per-worker ``rate_limit``, and through one serial worker
  (:mod:`.pacing_bench`); with each worker's CPU seconds and peak RSS (:mod:`.procstat`).
* ``otp`` / ``fifo`` — OTPs injected while a bulk backlog drains, with their own queue and
  worker, and with everything on one FIFO queue (:mod:`.otp_bench`).

Results go to ``bench-results/bench-<UTC timestamp>.json`` and ``bench-results/latest.json``;
a table is printed (:mod:`.report`). The exit status is 0 whenever the run completed, whether
or not each goal was met. Every Redis key lives under ``nwbench:<hex>:`` and is deleted at the
end; every process started is stopped, also on Ctrl-C.

This package's ``__init__`` imports nothing heavy: workers import :mod:`.naive_tasks` from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nusaworker.bench.rig import Rig

SCENARIOS = ("ours", "naive", "serial", "otp", "fifo")


@dataclass(frozen=True)
class BenchParams:
    """Sizes of one run (``--quick`` shrinks every one)."""

    quick: bool
    pacing_messages: int
    serial_messages: int
    workers: int
    threads: int
    backlog: int
    otps: int
    fifo_timeout_s: float
    seed: int
    scenarios: tuple[str, ...]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchParams:
        quick = bool(args.quick)

        def pick(value: Any, full: Any, small: Any) -> Any:
            return value if value is not None else (small if quick else full)

        return cls(
            quick=quick,
            pacing_messages=pick(args.messages, 600, 200),
            serial_messages=pick(args.serial_messages, 200, 60),
            workers=args.workers,
            threads=args.threads,
            backlog=pick(args.backlog, 5000, 1000),
            otps=pick(args.otps, 40, 20),
            fifo_timeout_s=pick(args.fifo_timeout, 300.0, 90.0),
            seed=args.seed,
            scenarios=tuple(args.only or SCENARIOS),
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``nusaworker bench``."""
    parser = argparse.ArgumentParser(
        prog="nusaworker bench",
        description="Benchmarks against the provider sandbox; JSON results in bench-results/.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller batches, a fast run")
    parser.add_argument("--messages", type=int, help="pacing: sends per fleet (600; quick 200)")
    parser.add_argument("--serial-messages", type=int, help="serial baseline sends (200; 60)")
    parser.add_argument("--workers", type=int, default=3, help="pacing fleet processes (3)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process (8)")
    parser.add_argument("--backlog", type=int, help="OTP scenario bulk backlog (5000; 1000)")
    parser.add_argument("--otps", type=int, help="OTPs injected (40; 20)")
    parser.add_argument(
        "--fifo-timeout",
        type=float,
        help="seconds after the last OTP before un-arrived FIFO OTPs are censored (300; 90)",
    )
    parser.add_argument("--seed", type=int, default=7, help="sandbox and OTP spacing seed")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--out-dir", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    for name in ("messages", "serial_messages", "backlog", "otps"):
        value = getattr(args, name)
        if value is not None and value < 2:
            parser.error(f"--{name.replace('_', '-')} must be at least 2")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    return args


def _say(text: str) -> None:
    print(text, flush=True)


def run_scenarios(rig: Rig, params: BenchParams) -> dict[str, Any]:
    """Run the chosen scenarios one after the other; each has its own sandbox and keys."""
    from nusaworker.bench import otp_bench, pacing_bench

    results: dict[str, Any] = {}
    pacing: dict[str, Any] = {}
    otp: dict[str, Any] = {}
    fleet = {"workers": params.workers, "threads": params.threads}
    steps = {
        "ours": lambda: pacing.__setitem__(
            "ours", pacing_bench.run_ours(rig, messages=params.pacing_messages, **fleet)
        ),
        "naive": lambda: pacing.__setitem__(
            "naive_rate_limit",
            pacing_bench.run_naive(rig, messages=params.pacing_messages, **fleet),
        ),
        "serial": lambda: pacing.__setitem__(
            "serial", pacing_bench.run_serial(rig, messages=params.serial_messages)
        ),
        "otp": lambda: otp.__setitem__(
            "priority", otp_bench.run_priority(rig, backlog=params.backlog, otps=params.otps)
        ),
        "fifo": lambda: otp.__setitem__(
            "fifo",
            otp_bench.run_fifo(
                rig, backlog=params.backlog, otps=params.otps, timeout=params.fifo_timeout_s
            ),
        ),
    }
    for name in SCENARIOS:
        if name not in params.scenarios:
            continue
        started = time.monotonic()
        _say(f"[bench] {name} …")
        steps[name]()
        _say(f"[bench] {name} done in {time.monotonic() - started:.1f} s")
    if pacing:
        results["pacing"] = pacing
    if otp:
        results["otp"] = otp
    return results


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same way out as Ctrl-C: every finally block stops what it started.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nusaworker bench``; 0 when the run completed (goals met or not)."""
    from nusaworker.bench.report import build_report, machine_info, render_table, write_report
    from nusaworker.bench.rig import (
        LATENCY_JITTER_MS,
        LATENCY_MS,
        MIN_INTERVAL_MS,
        Rig,
        load_1m,
    )
    from nusaworker.settings import load_settings
    from nusaworker.testing.redis_server import redis_url_or_private

    args = parse_args(argv)
    params = BenchParams.from_args(args)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.monotonic()
    machine = machine_info()
    try:
        with (
            redis_url_or_private(load_settings().redis_url) as redis_url,
            tempfile.TemporaryDirectory(prefix="nusaworker-bench-") as logdir,
        ):
            prefix = f"nwbench:{uuid.uuid4().hex[:10]}:"
            rig = Rig(redis_url, prefix, seed=params.seed, logdir=Path(logdir))
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
