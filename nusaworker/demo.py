"""``make demo``: the whole product on an embedded default, start to finish, in one command.

Uses the Redis at ``NUSAWORKER_REDIS_URL`` if one answers (else starts a private one), starts the
provider sandbox, a small fleet of real ``celery worker`` processes (one for OTPs, two for
bulk), accepts a few hundred messages plus some OTPs through the producer API, waits for them,
prints what happened, and stops everything it started. Its Redis keys live under a prefix of
their own and are deleted at the end.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from collections.abc import Sequence

from pydantic import ValidationError

from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings, load_settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix, redis_url_or_private

BULK_QUEUES = "wa,wa_official,sms,check,status,housekeeping"
SETTLED = {s.value for s in MessageState} - {"accepted", "sending"}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nusaworker demo", description=__doc__)
    parser.add_argument("--messages", type=int, default=300, help="bulk WhatsApp/SMS messages")
    parser.add_argument("--otps", type=int, default=20, help="OTP SMS injected while they drain")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="sandbox answer latency")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting after")
    return parser.parse_args(argv)


def wait_settled(producer: Producer, ids: list[str], timeout: float) -> Counter[str]:
    """Poll the ledger until every message left accepted/sending (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        states = Counter(str(r.state) for r in producer.ledger.get_many(ids))
        if sum(n for s, n in states.items() if s in SETTLED) == len(ids):
            return states
        if time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def run(args: argparse.Namespace, settings: Settings) -> int:
    with redis_url_or_private(settings.redis_url) as redis_url:
        prefix = f"nwdemo:{uuid.uuid4().hex[:8]}:"
        faults = FaultProfile(latency_ms=args.latency_ms, latency_jitter_ms=args.latency_ms / 3)
        with Sandbox(host="127.0.0.1", port=0, faults=faults, seed=7) as box:
            env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
            print(f"redis {redis_url}  sandbox {box.url}  key prefix {prefix}")
            with Fleet(env) as fleet:
                fleet.start("otp", "otp", concurrency=2)
                fleet.start("bulk1", BULK_QUEUES, concurrency=4)
                fleet.start("bulk2", BULK_QUEUES, concurrency=4)
                print("fleet ready: otp(2 threads) + bulk1(4) + bulk2(4)")
                producer = Producer.from_settings(
                    Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
                )
                try:
                    return _drive(args, producer, box)
                finally:
                    delete_prefix(redis_url, prefix)


def _drive(args: argparse.Namespace, producer: Producer, box: Sandbox) -> int:
    started = time.monotonic()
    ids: list[str] = []
    otp_ids: list[str] = []
    otp_enqueued: dict[str, float] = {}
    for i in range(args.messages):
        number = f"62812{i:08d}"
        if i % 4 == 3:
            ids.append(producer.send_sms(number, f"Promo {i}: 20% off today", priority="bulk"))
        else:
            ids.append(producer.send_whatsapp(number, f"Hello #{i} from the demo", priority="bulk"))
    print(f"accepted {len(ids)} bulk messages; injecting {args.otps} OTPs while they drain …")
    for i in range(args.otps):
        enqueued = time.monotonic()
        otp_id = producer.send_sms(f"62899{i:08d}", f"Your code is {100000 + i}", otp=True)
        otp_enqueued[otp_id] = enqueued
        otp_ids.append(otp_id)
        time.sleep(0.25)
    # A bad request is refused at the edge and never reaches the provider.
    try:
        producer.send_whatsapp("not-a-number", "x")
    except ValidationError as exc:
        print(f"refused at the edge: ValidationError on {exc.errors()[0]['loc']}")
    print("waiting for every message to settle …")
    states = wait_settled(producer, ids + otp_ids, args.timeout)
    elapsed = time.monotonic() - started
    stats = box.stats()
    acct = stats["accounts"].get("main", {})
    span = (acct.get("last_hit") or 0) - (acct.get("first_hit") or 0)
    rate = (acct.get("hits", 0) - 1) / span if span > 0 else 0.0
    print()
    print(f"{'state':<12}{'messages':>10}")
    for state, count in sorted(states.items()):
        print(f"{state:<12}{count:>10}")
    print()
    print(f"elapsed              {elapsed:8.1f} s")
    print(f"provider hits        {stats['hits']:8d}")
    print(f"achieved rate        {rate:8.2f} hits/s (rule: 20/s)")
    print(f"rule violations      {stats['violations']:8d}")
    min_gap = stats.get("min_gap_ms")
    print(f"minimum gap          {min_gap if min_gap is None else round(min_gap, 2)!s:>8} ms")
    latencies = _otp_latencies_ms(producer, box, otp_enqueued)
    if latencies:
        print(
            f"OTP enqueue→provider  p50 {latencies[len(latencies) // 2]:.0f} ms, "
            f"max {latencies[-1]:.0f} ms ({len(latencies)} OTPs, sent amid the bulk backlog)"
        )
    settled = sum(n for s, n in states.items() if s in SETTLED)
    ok = settled == len(ids) + len(otp_ids) and stats["violations"] == 0
    print("demo OK" if ok else "demo FAILED: not every message settled, or the rule was broken")
    return 0 if ok else 1


def _otp_latencies_ms(producer: Producer, box: Sandbox, enqueued: dict[str, float]) -> list[float]:
    """From the producer call to the OTP's arrival at the provider, sorted."""
    arrivals = {h["ref_no"]: h["t"] for h in box.hits() if h.get("ref_no")}
    out = []
    for record in producer.ledger.get_many(list(enqueued)):
        if record.ref_no in arrivals:
            out.append((arrivals[record.ref_no] - enqueued[record.id]) * 1000)
    return sorted(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nusaworker demo``."""
    return run(_parse(argv), load_settings())
