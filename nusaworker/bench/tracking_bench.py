"""Delivery-tracking bench: poll share of the account's hits, and status lag, polls vs pushes.

With ``--messages`` (default 10,000) messages already in ``sent`` and a send load saturating
the account, a real fleet (a ``celery worker`` for the send queues, one for ``status`` and
``housekeeping``, one ``celery beat``) runs against the
sandbox (50 ms rule enforced, answers 150 ± 50 ms late, like the other benches):

* **phase A, polling only** (no callback URL) for ``--window`` seconds: the share of the
  account's hits that were status polls (the budget allows ``poll_share``), the poll rate,
  and the lag from the sandbox reaching a final status to the ledger showing it, for the
  messages the polls reached; how long the budget needs to get round the whole backlog.
* **phase B, callbacks** (the sandbox pushes to the real receiver): the same lag for
  ``--probes`` fresh messages, finalised by pushes alone.

Lag = the time the ledger recorded the state (its events stream) minus the time the sandbox
reached that provider status (its own clock, in this process). ``run()`` returns a dict;
``main()`` prints it and writes ``bench-results/tracking-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis

from nusaworker.keys import Keys
from nusaworker.ledger import FINAL_STATES, Ledger, MessageRecord
from nusaworker.producer import Producer
from nusaworker.providers import NusaSMSClient
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix, redis_url_or_private
from nusaworker.tracking.budget import polls_per_second
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
MIN_INTERVAL_MS = 50.0
LATENCY = FaultProfile(latency_ms=150.0, latency_jitter_ms=50.0)
TOKEN = "bench-callback-token-0123456789"
# As in production: the send queues and the tracking queues have workers of their own. The
# broker consumes queues in the order given (queue_order_strategy "priority"), so a worker
# that also took status/housekeeping would not get to them while a send backlog lasts.
SEND_QUEUES = "otp,wa,wa_official,sms,check"
TRACKING_QUEUES = "status,housekeeping"
POLL_PATHS = ("/nusasms_api/1.0/whatsapp/status/", "/api/command")


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None, "mean_s": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "n": len(ordered),
        "p50_s": pick(0.50),
        "p95_s": pick(0.95),
        "max_s": round(ordered[-1], 3),
        "mean_s": round(statistics.fmean(ordered), 3),
    }


class _Clock:
    """Converts the sandbox's monotonic times to wall time (both in this process)."""

    def __init__(self) -> None:
        self.offset = time.time() - time.monotonic()

    def wall(self, mono: float) -> float:
        return mono + self.offset


def _reached_wall(
    box: Sandbox, clock: _Clock, ref_no: str, status: str, step_s: float
) -> float | None:
    """When the sandbox reached ``status`` for ``ref_no`` (wall clock), if it did."""
    view = box.message(ref_no)
    if view is None or status not in view["path"]:
        return None
    return clock.wall(view["created"] + view["path"].index(status) * step_s)


def _seed(box: Sandbox, ledger: Ledger, count: int, threads: int = 16) -> dict[str, str]:
    """``count`` WhatsApp messages accepted by the sandbox and recorded ``sent``: id → ref."""
    box.set_rate(0, enforce=False)
    box.set_faults(FaultProfile())
    client = NusaSMSClient(base_url=box.url, api_key="test-key", pool_size=threads)
    now = time.time()

    def one(i: int) -> tuple[str, str]:
        ref = client.send_whatsapp(f"62811{i:08d}", f"backlog {i}").ref_no
        record = MessageRecord(channel="wa", destination=f"62811{i:08d}", priority="bulk")
        message_id, _ = ledger.create(record)
        claim = ledger.claim(message_id)
        assert claim.token is not None
        ledger.begin_hit(message_id, claim.token)
        ledger.mark_sent(message_id, claim.token, ref, next_poll_at=now)
        return message_id, ref

    try:
        with ThreadPoolExecutor(threads) as pool:
            seeded = dict(pool.map(one, range(count)))
    finally:
        client.close()
        box.set_faults(LATENCY)
        box.set_rate(MIN_INTERVAL_MS, enforce=True)
    return seeded


def _send_load(producer: Producer, stop: threading.Event, rate: float, sent: list[str]) -> None:
    """Bulk WhatsApp sends at ``rate``/s until ``stop``: enough to keep the account busy."""
    i = 0
    start = time.monotonic()
    while not stop.is_set():
        sent.append(producer.send_whatsapp(f"62822{i:08d}", f"load {i}", priority="bulk"))
        i += 1
        stop.wait(max(0.0, start + i / rate - time.monotonic()))


def _lags(
    events: list[dict[str, Any]],
    refs: dict[str, str],
    box: Sandbox,
    clock: _Clock,
    since: float,
    until: float,
    step_s: float,
) -> list[float]:
    """Lag of the first final event of each message in ``refs`` seen in ``[since, until]``."""
    first: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("type") != "state" or event["message_id"] not in refs:
            continue
        if event["state"] in {str(s) for s in FINAL_STATES} and event["message_id"] not in first:
            first[event["message_id"]] = event
    lags = []
    for message_id, event in first.items():
        if not since <= event["at"] <= until or not event.get("provider_status"):
            continue
        reached = _reached_wall(box, clock, refs[message_id], event["provider_status"], step_s)
        if reached is not None:
            lags.append(max(0.0, event["at"] - reached))
    return lags


@contextlib.contextmanager
def _stack(
    redis_url: str, logdir: Path, poll_share: float, step_s: float, seed: int
) -> Iterator[Any]:
    prefix = f"nwbench:tracking:{uuid.uuid4().hex[:8]}:"
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(redis_url_or_private(redis_url))
        stack.callback(delete_prefix, url, prefix)
        box = stack.enter_context(
            Sandbox(
                min_interval_ms=MIN_INTERVAL_MS,
                faults=LATENCY,
                status_step_s=step_s,
                fail_rate=0.05,
                seed=seed,
            )
        )
        settings = Settings(
            redis_url=url, key_prefix=prefix, nusasms_base_url=box.url, callback_token=TOKEN
        )
        receiver = stack.enter_context(CallbackServer(create_app(settings)))
        env = fleet_env(
            redis_url=url, key_prefix=prefix, base_url=box.url, poll_share=str(poll_share)
        )
        fleet = stack.enter_context(Fleet(env, logdir=logdir))
        yield url, prefix, box, receiver, env, fleet, settings


def run(
    *,
    messages: int = 10_000,
    window_s: float = 60.0,
    probes: int = 200,
    poll_share: float = 0.2,
    status_step_s: float = 1.0,
    redis_url: str = DEFAULT_REDIS_URL,
    seed: int = 7,
) -> dict[str, Any]:
    """Run both phases and return the figures (see the module docstring)."""
    logdir = Path(tempfile.mkdtemp(prefix="nusaworker-trackbench-"))
    with _stack(redis_url, logdir, poll_share, status_step_s, seed) as stack:
        url, prefix, box, receiver, env, fleet, settings = stack
        client = redis.Redis.from_url(url, decode_responses=True)
        ledger = Ledger(client, keys=Keys(prefix=prefix))
        producer = Producer.from_settings(settings)
        clock = _Clock()
        seeded_at = time.monotonic()
        seeded = _seed(box, ledger, messages)
        seed_s = time.monotonic() - seeded_at
        # Every backlog message has reached its final status before polling starts.
        time.sleep(status_step_s * 4)
        fleet.start("sends", SEND_QUEUES, concurrency=8)
        fleet.start("tracking", TRACKING_QUEUES, concurrency=4)
        beat = BeatProcess.start(env, logdir)
        try:
            beat.wait_active(30)
            # -- phase A: polling only, under a saturating send load --------------------------
            stop = threading.Event()
            load: list[str] = []
            loader = threading.Thread(target=_send_load, args=(producer, stop, 25.0, load))
            t0_mono, t0_wall = time.monotonic(), time.time()
            loader.start()
            time.sleep(window_s)
            stop.set()
            loader.join()
            t1_mono, t1_wall = time.monotonic(), time.time()
            hits = [h for h in box.hits() if t0_mono <= h["t"] <= t1_mono]
            polls = [h for h in hits if h["kind"] == "read" and h["path"].startswith(POLL_PATHS)]
            sends = [h for h in hits if h["kind"] == "send"]
            events = EventStream(client, keys=ledger.keys).entries()
            backlog_lags = _lags(events, seeded, box, clock, t0_wall, t1_wall, status_step_s)
            load_refs = {r.id: r.ref_no for r in ledger.get_many(load) if r.ref_no}
            load_lags = _lags(events, load_refs, box, clock, t0_wall, t1_wall, status_step_s)
            poll_rate = len(polls) / window_s
            phase_a = {
                "window_s": window_s,
                "hits": len(hits),
                "hits_per_s": round(len(hits) / window_s, 2),
                "send_hits": len(sends),
                "poll_hits": len(polls),
                "poll_share": round(len(polls) / len(hits), 4) if hits else None,
                "poll_share_budget": poll_share,
                "polls_per_s": round(poll_rate, 2),
                "polls_per_s_budget": polls_per_second(poll_share, MIN_INTERVAL_MS),
                "violations": sum(1 for h in hits if h["violation"]),
                "backlog_finalised_in_window": len(backlog_lags),
                "backlog_lag": _percentiles(backlog_lags),
                "backlog_drain_projection_s": round(messages / poll_rate, 1) if poll_rate else None,
                "fresh_sends_in_window": len(load),
                "fresh_finalised_by_polls": len(load_lags),
                "fresh_lag": _percentiles(load_lags),
            }
            # -- phase B: callbacks (pushes to the real receiver) -----------------------------
            box.set_callback_url(f"{receiver.url}/{TOKEN}")
            t2_wall = time.time()
            probe_ids = [
                producer.send_whatsapp(f"62833{i:08d}", f"probe {i}") for i in range(probes)
            ]
            deadline = time.monotonic() + max(60.0, probes / 10 + 30)

            def probes_final() -> bool:
                return all(r.state in FINAL_STATES for r in ledger.get_many(probe_ids))

            while not probes_final() and time.monotonic() < deadline:
                time.sleep(0.5)
            t3_wall = time.time()
            records = ledger.get_many(probe_ids)
            probe_refs = {r.id: r.ref_no for r in records if r.ref_no}
            events = EventStream(client, keys=ledger.keys).entries(start="-")
            probe_lags = _lags(events, probe_refs, box, clock, t2_wall, t3_wall, status_step_s)
            polled_probes = {
                h["path"].rsplit("/", 1)[-1]
                for h in box.hits(kind="read")
                if h["path"].rsplit("/", 1)[-1] in set(probe_refs.values())
            }
            phase_b = {
                "probes": probes,
                "finalised": sum(1 for r in records if r.state in FINAL_STATES),
                "finalised_by_polls": len(polled_probes),
                "lag": _percentiles(probe_lags),
                "callbacks_sent": box.stats()["callbacks_sent"],
                "callbacks_failed": box.stats()["callbacks_failed"],
            }
        finally:
            box.set_callback_url(None)  # the receiver stops first; no pushes into the void
            beat.stop()
            fleet.stop()
            producer.app.close()
            client.close()
    return {
        "bench": "tracking",
        "messages_in_sent": messages,
        "seed_s": round(seed_s, 1),
        "sandbox": {
            "min_interval_ms": MIN_INTERVAL_MS,
            "latency_ms": "150 ± 50",
            "status_step_s": status_step_s,
        },
        "polling_only": phase_a,
        "callbacks": phase_b,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nusaworker.bench.tracking_bench``: run once, print and save the figures."""
    parser = argparse.ArgumentParser(prog="nusaworker.bench.tracking_bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="phase A, seconds")
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--poll-share", type=float, default=0.2)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    result = run(
        messages=args.messages,
        window_s=args.window,
        probes=args.probes,
        poll_share=args.poll_share,
        redis_url=args.redis_url,
    )
    text = json.dumps(result, indent=2)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (args.out / f"tracking-{stamp}.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
