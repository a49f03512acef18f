"""Phone-check bench: numbers checked per second for one account, through the whole path.

``--numbers`` (default 20,000) distinct numbers are asked for at once
(:meth:`~nusaworker.phonecheck.PhoneChecks.request`); a real fleet with default settings — a
``celery worker`` for the send queues (8 threads), one for ``status`` and ``housekeeping``,
one ``celery beat`` running the dispatcher — sends them as 100-number ``check`` messages
through the causal pacing gate (50 ms) to the sandbox (the 50 ms rule enforced, answers
150 ± 50 ms late, like the other benches), which pushes each result to the real callback
receiver (``nusaworker callbacks``, a process of its own as in production), which fills the
cache.

Figures: the hit-side rate (numbers sent between the first and the last check hit, over that
span: the account's steady rate; the limit is 100 x 20 = 2,000/s, the goal ≥ 1,950/s), the
end-to-end rate (every number answered in the cache, from the ask), hits, the minimum gap
between hits and the sandbox's rule violations. Run by ``make bench``, or alone with
``python -m nusaworker.bench.phone_checks``. ``main()`` prints JSON and writes
``bench-results/phone-checks-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import redis

from nusaworker.bench.callbacks import callback_receiver
from nusaworker.keys import Keys
from nusaworker.phonecheck import BATCH_SIZE, PhoneChecks
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix, redis_url_or_private

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
MIN_INTERVAL_MS = 50.0
LATENCY = FaultProfile(latency_ms=150.0, latency_jitter_ms=50.0)
TOKEN = "bench-callback-token-0123456789"
SEND_QUEUES = "otp,wa,wa_official,sms,check"
TRACKING_QUEUES = "status,housekeeping"
CHECK_PATH = "/wa_phone_check"
GOAL_NUMBERS_PER_S = 1_950.0


@contextlib.contextmanager
def _stack(redis_url: str, logdir: Path, seed: int) -> Iterator[Any]:
    prefix = f"nwbench:pc:{uuid.uuid4().hex[:8]}:"
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(redis_url_or_private(redis_url))
        stack.callback(delete_prefix, url, prefix)
        box = stack.enter_context(
            Sandbox(min_interval_ms=MIN_INTERVAL_MS, faults=LATENCY, seed=seed)
        )
        settings = Settings(
            redis_url=url, key_prefix=prefix, nusasms_base_url=box.url, callback_token=TOKEN
        )
        env = fleet_env(redis_url=url, key_prefix=prefix, base_url=box.url)
        receiver_url = stack.enter_context(callback_receiver(env, logdir, TOKEN))
        box.set_callback_url(f"{receiver_url}/{TOKEN}")
        fleet = stack.enter_context(Fleet(env, logdir=logdir))
        yield url, prefix, box, env, fleet, settings


def run(
    *,
    numbers: int = 20_000,
    redis_url: str = DEFAULT_REDIS_URL,
    seed: int = 5,
    timeout_s: float = 300,
) -> dict[str, Any]:
    """Check ``numbers`` numbers once through the fleet; the figures (module docstring)."""
    logdir = Path(tempfile.mkdtemp(prefix="nusaworker-pcbench-"))
    with _stack(redis_url, logdir, seed) as (url, prefix, box, env, fleet, settings):
        client = redis.Redis.from_url(url, decode_responses=True)
        checks = PhoneChecks.from_settings(client, settings)
        fleet.start("sends", SEND_QUEUES, concurrency=8)
        fleet.start("tracking", TRACKING_QUEUES, concurrency=4)
        beat = BeatProcess.start(env, logdir)
        try:
            beat.wait_active(30)
            wanted = [f"62819{i:08d}" for i in range(numbers)]
            asked_at = time.monotonic()
            checks.request(wanted)
            # Two ZCARDs a poll, not a lookup of every number: the sandbox runs in this process,
            # and a heavy poll loop here would take the CPU its answers need.
            deadline = asked_at + timeout_s
            while (checks.pending() or checks.in_flight()) and time.monotonic() < deadline:
                time.sleep(0.02)
            answered_at = time.monotonic()
            answers = checks.lookup(wanted)
        finally:
            beat.stop()
        hits = [h for h in box.hits() if str(h["path"]).endswith(CHECK_PATH)]
        stats = box.stats()
        keys = Keys(prefix=prefix)
        cached = sum(1 for _ in client.scan_iter(match=keys.phone_check("*"), count=1000))
        client.close()
    answered = sum(1 for a in answers.values() if a is not None)
    gaps = sorted(1000 * (b["t"] - a["t"]) for a, b in itertools.pairwise(hits))
    span = hits[-1]["t"] - hits[0]["t"] if len(hits) > 1 else 0.0
    # Numbers that left in the span: every hit's but the last one's (it starts the span's end).
    in_span = min(numbers, (len(hits) - 1) * BATCH_SIZE)
    hit_rate = in_span / span if span > 0 else None
    return {
        "bench": "phone_checks",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "numbers": numbers,
        "answered": answered,
        "registered": sum(1 for a in answers.values() if a),
        "cached_keys": cached,
        "hits": len(hits),
        "hits_expected": -(-numbers // BATCH_SIZE),
        "hit_span_s": round(span, 3),
        "hits_per_s": round((len(hits) - 1) / span, 2) if span > 0 else None,
        "numbers_per_s": round(hit_rate, 1) if hit_rate else None,
        "end_to_end_s": round(answered_at - asked_at, 3),
        "end_to_end_numbers_per_s": round(answered / (answered_at - asked_at), 1),
        "min_gap_ms": stats.get("min_gap_ms"),
        "gap_ms": _percentiles(gaps),
        "violations": stats.get("violations"),
        "goal_numbers_per_s": GOAL_NUMBERS_PER_S,
        "goal_met": bool(hit_rate and hit_rate >= GOAL_NUMBERS_PER_S),
        "settings": {
            "min_interval_ms": settings.min_interval_ms,
            "phone_check_linger_s": settings.phone_check_linger_s,
            "phone_check_max_per_run": settings.phone_check_max_per_run,
        },
    }


def _percentiles(values: list[float]) -> dict[str, float] | None:
    """p50/p90/p99/max of sorted ``values`` (ms, rounded)."""
    if not values:
        return None

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 2)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(values[-1], 2)}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nusaworker.bench.phone_checks``: run once, print and save the figures."""
    parser = argparse.ArgumentParser(prog="nusaworker.bench.phone_checks", description=__doc__)
    parser.add_argument("--numbers", type=int, default=20_000)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    result = run(numbers=args.numbers, redis_url=args.redis_url)
    text = json.dumps(result, indent=2)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (args.out / f"phone-checks-{stamp}.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
