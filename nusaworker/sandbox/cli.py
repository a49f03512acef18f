"""Command line: ``python -m nusaworker.sandbox --port 8765`` (also ``nusaworker sandbox``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .box import Sandbox
from .faults import FaultProfile
from .garbage import KINDS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so the project CLI can reuse its options)."""
    parser = argparse.ArgumentParser(
        prog="nusaworker sandbox", description="Serve the NusaSMS provider emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--sms-user", default="user")
    parser.add_argument("--sms-password", default="pass")
    parser.add_argument("--min-interval-ms", type=float, default=50.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--callback-url", default=None)
    parser.add_argument("--status-step-s", type=float, default=0.5)
    parser.add_argument(
        "--no-enforce", action="store_true", help="count rate-rule violations but answer them"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--p-garbage",
        type=float,
        default=0.0,
        help="chance a provider hit is answered with garbage (processed first; default 0)",
    )
    parser.add_argument(
        "--garbage-kinds",
        default="",
        help=f"comma-separated kinds to draw from (default: all but slow ones): {', '.join(KINDS)}",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a sandbox in the foreground until SIGINT/SIGTERM; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        faults = FaultProfile(
            latency_ms=args.latency_ms,
            latency_jitter_ms=args.latency_jitter_ms,
            p_garbage=args.p_garbage,
            garbage_kinds=tuple(k.strip() for k in args.garbage_kinds.split(",") if k.strip()),
        )
    except ValueError as exc:
        parser.error(str(exc))
    box = Sandbox(
        args.host,
        args.port,
        api_key=args.api_key,
        sms_user=args.sms_user,
        sms_password=args.sms_password,
        min_interval_ms=args.min_interval_ms,
        enforce_rate=not args.no_enforce,
        faults=faults,
        callback_url=args.callback_url,
        status_step_s=args.status_step_s,
        seed=args.seed,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
    with box:
        print(f"NusaSMS sandbox listening on {box.url}", flush=True)
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("NusaSMS sandbox stopped", file=sys.stderr, flush=True)
    return 0
