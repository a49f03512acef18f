"""SmartSwitch: one destination per hit against many destinations per hit, side by side.

The SmartSwitch API (seed 003) takes several ``destination_number`` in one request. With the
fleet's pacing rule — one hit per 50 ms per account, enforced by the real causal gate
(:class:`~nusaworker.pacing.CausalGate`, default settings) on a private Redis — the hit, not the
message, is what is rationed; this measures what batching buys. One client sends the same body
to ``n`` destinations against a sandbox on 127.0.0.1, first one destination per hit, then ``k``
per hit, and prints JSON: messages/s of each, their ratio, hits, and the minimum gap between
hits as the sandbox saw them (kernel arrival stamps where available).

    python -m nusaworker.bench.smartswitch_multi [--n 2000] [--k 50]

Run by ``make bench`` after the fleet benchmarks: a single process, no Celery, for the
provider's own figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from nusaworker.keys import Keys
from nusaworker.pacing import CausalGate
from nusaworker.providers.smartswitch import SmartSwitchClient
from nusaworker.sandbox import Sandbox
from nusaworker.testing.redis_server import delete_prefix, private_redis

LOGIN, PASSWORD = "bench-login", "bench-password"
BODY = "Your parcel has shipped; track it with the link in the app. Reply STOP to opt out."
MIN_INTERVAL_MS = 50.0


def _numbers(n: int) -> list[str]:
    return [f"1212{i:07d}" for i in range(n)]


def _run(
    client: SmartSwitchClient, box: Sandbox, numbers: list[str], per_hit: int
) -> dict[str, Any]:
    """Send ``BODY`` to ``numbers``, ``per_hit`` destinations a hit; the figures of the run."""
    first_hit = len(box.hits())
    sent = 0
    started = time.monotonic()
    for start in range(0, len(numbers), per_hit):
        batch = client.send_sms_batch(numbers[start : start + per_hit], BODY, priority="bulk")
        sent += len(batch.sent)
    seconds = time.monotonic() - started
    hits = box.hits()[first_hit:]
    arrivals = sorted(h["t"] for h in hits)
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    return {
        "destinations_per_hit": per_hit,
        "hits": len(hits),
        "messages_sent": sent,
        "seconds": round(seconds, 3),
        "messages_per_s": round(sent / seconds, 1),
        "hits_per_s": round(len(hits) / seconds, 2),
        "min_gap_ms": round(min(gaps), 2) if gaps else None,
    }


def run(n: int, k: int) -> dict[str, Any]:
    """Both runs on one sandbox and one gate; the report as a dict."""
    prefix = f"nwbench:ss:{uuid.uuid4().hex[:8]}:"
    with private_redis() as redis_url, Sandbox(min_interval_ms=MIN_INTERVAL_MS) as box:
        box.smartswitch("bench", login=LOGIN, password=PASSWORD, balance=10 * n)
        gate = CausalGate(redis_url, min_interval_ms=MIN_INTERVAL_MS, keys=Keys(prefix=prefix))
        try:
            gate.warm_up(1)
            with SmartSwitchClient(
                base_url=box.url, login=LOGIN, password=PASSWORD, gate=gate
            ) as client:
                numbers = _numbers(n)
                single = _run(client, box, numbers, 1)
                multi = _run(client, box, numbers, k)
        finally:
            gate.close()
            delete_prefix(redis_url, prefix)
        return {
            "benchmark": "smartswitch_multi",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "destinations": n,
            "min_interval_ms": MIN_INTERVAL_MS,
            "gate": "causal (default safety margin)",
            "kernel_timestamps": box.kernel_timestamps,
            "one_per_hit": single,
            "many_per_hit": multi,
            "ratio_messages_per_s": round(multi["messages_per_s"] / single["messages_per_s"], 1),
        }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run both, print the JSON report."""
    parser = argparse.ArgumentParser(prog="nusaworker.bench.smartswitch_multi", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="destinations (default 2000)")
    parser.add_argument("--k", type=int, default=50, help="destinations per hit (default 50)")
    args = parser.parse_args(argv)
    if not 1 <= args.k <= 100 or args.n < args.k:
        parser.error("need 1 <= k <= 100 and n >= k")
    print(json.dumps(run(args.n, args.k), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
