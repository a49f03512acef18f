"""The command line of ``nusaworker bench`` and the sizes of one run (``--quick`` shrinks them).

Pure: nothing here starts a process or opens a socket, so it is unit-tested on argument lists.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nusaworker.bench.layouts import GATES, PACING_VARIANTS

PACING_SCENARIOS = tuple(v.name for v in PACING_VARIANTS)
SCENARIOS = (*PACING_SCENARIOS, "naive", "serial", "otp", "fifo")
# Names --only also accepts, each standing for several scenarios.
GROUPS: dict[str, tuple[str, ...]] = {
    "pacing": PACING_SCENARIOS,
    "quiet": tuple(v.name for v in PACING_VARIANTS if not v.hogs),
    "hogs": tuple(v.name for v in PACING_VARIANTS if v.hogs),
    "baselines": ("naive", "serial"),
    "latency": ("otp", "fifo"),
}
PRIORITIES = ("otp", "normal", "bulk")


@dataclass(frozen=True)
class BenchParams:
    """Sizes of one run (``--quick`` shrinks every one)."""

    quick: bool
    pacing_messages: int
    naive_messages: int
    serial_messages: int
    backlog: int
    otps: int
    fifo_timeout_s: float
    seed: int
    gates: tuple[str, ...]
    priority: str
    scenarios: tuple[str, ...]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchParams:
        quick = bool(args.quick)

        def pick(value: Any, full: Any, small: Any) -> Any:
            return value if value is not None else (small if quick else full)

        messages = pick(args.messages, 600, 120)
        return cls(
            quick=quick,
            pacing_messages=messages,
            naive_messages=messages,
            serial_messages=pick(args.serial_messages, 200, 40),
            backlog=pick(args.backlog, 5000, 1000),
            otps=pick(args.otps, 40, 10),
            fifo_timeout_s=pick(args.fifo_timeout, 120.0, 30.0),
            seed=args.seed,
            gates=tuple(dict.fromkeys(args.gates or GATES)),
            priority=args.priority,
            scenarios=expand_only(args.only),
        )


def expand_only(names: Sequence[str] | None) -> tuple[str, ...]:
    """The scenarios ``--only`` names (groups expanded), in the order they run."""
    if not names:
        return SCENARIOS
    chosen: set[str] = set()
    for name in names:
        chosen.update(GROUPS.get(name, (name,)))
    return tuple(name for name in SCENARIOS if name in chosen)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``nusaworker bench``."""
    parser = argparse.ArgumentParser(
        prog="nusaworker bench",
        description="Benchmarks against the provider sandbox; JSON results in bench-results/.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller batches, a fast run")
    parser.add_argument(
        "--messages", type=int, help="sends per pacing run and naive baseline (600; quick 120)"
    )
    parser.add_argument("--serial-messages", type=int, help="serial baseline sends (200; 40)")
    parser.add_argument("--backlog", type=int, help="OTP scenario bulk backlog (5000; 1000)")
    parser.add_argument("--otps", type=int, help="OTPs injected (40; 10)")
    parser.add_argument(
        "--fifo-timeout",
        type=float,
        help="seconds after the last OTP before un-arrived FIFO OTPs are censored (120; 30)",
    )
    parser.add_argument(
        "--gates",
        nargs="+",
        choices=GATES,
        help="pacing gates to run each scenario through (NUSAWORKER_PACING_GATE; both)",
    )
    parser.add_argument(
        "--priority",
        choices=PRIORITIES,
        default="normal",
        help="priority of the pacing sends (the producer's default, normal)",
    )
    parser.add_argument("--seed", type=int, default=7, help="sandbox and OTP spacing seed")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=(*SCENARIOS, *GROUPS),
        help="run only these scenarios (or groups: " + ", ".join(GROUPS) + ")",
    )
    parser.add_argument("--out-dir", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    for name in ("messages", "serial_messages", "backlog", "otps"):
        value = getattr(args, name)
        if value is not None and value < 2:
            parser.error(f"--{name.replace('_', '-')} must be at least 2")
    return args
