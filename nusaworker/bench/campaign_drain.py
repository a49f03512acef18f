"""A campaign draining through a real fleet while OTPs go out beside it.

The fleet a user starts with default settings: one plain ``celery -A nusaworker worker -n
plain@%h -l info`` (every queue, the configured pool and concurrency: threads, 8), one
``celery beat`` (it runs the campaign dispatcher every second), and ``nusaworker callbacks``
(the receiver, a process of its own) that the sandbox pushes delivery reports to, so that
delivered messages need no status polls. ``layout="split"`` replaces the plain worker with the
three the Makefile starts (``worker-otp``, ``worker``, ``worker-tracking``). The sandbox
enforces the 50 ms rule (429) and answers 150 ± 50 ms late, like the other benches.

A ``rows``-recipient WhatsApp campaign (``Hi {name}``, every default: rate share 1, bulk
priority) is created; once its first hit has reached the sandbox and ``WARMUP_S`` more have
passed, the measured span starts: for ``drain_s`` seconds an OTP SMS (``send_sms(…,
otp=True)``, the same account) is injected every ``otp_every_s``, and a sampler reads the
campaign's broker queue (every priority list of ``wa``) and its window set five times a
second. Then the campaign is cancelled (``full``: the span lasts until it has finished).

Figures: campaign hits/s over the span (the WhatsApp sends the sandbox logged, 429s
included, divided by the span), every hit of the account per second, the OTPs' enqueue →
provider latency (the sandbox's kernel arrival stamp of the OTP's accepted hit minus
``time.monotonic()`` just before the producer call; hits matched by ``ref_no``, as in
:mod:`.otp_bench`), the sandbox's rule violations, and the largest broker queue and window
seen against the window the dispatcher aims at (``rate x NUSAWORKER_CAMPAIGN_WINDOW_S``).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from nusaworker.bench.callbacks import callback_receiver
from nusaworker.bench.rig import MIN_INTERVAL_MS, READY_TIMEOUT_S, RULE_PER_S, load_1m
from nusaworker.bench.stats import latency_summary
from nusaworker.campaigns import Campaigns, CampaignSpec, CampaignState
from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.routing import BROKER_PRIORITY
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import REPO_ROOT, BeatProcess, Fleet, WorkerProcess, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

TOKEN = "bench-callback-token-0123456789"
LATENCY = FaultProfile(latency_ms=150.0, latency_jitter_ms=50.0)
TEMPLATE = "Hi {name}"
WA_PATH = "/whatsapp/message"
SMS_PATH = "/sendsms/plain"
# The dispatcher starts at its next beat tick and the window fills in a tick or two.
WARMUP_S = 5.0
FIRST_HIT_TIMEOUT_S = 60.0
OTP_TIMEOUT_S = 30.0
SAMPLE_EVERY_S = 0.2
# The fleets, as ``celery -A nusaworker`` arguments per worker. ``plain``: one worker with no
# flags but a node name (several benches may share a host) and the log level (the "ready." line
# is read): every queue, the configured pool and concurrency. ``split``: the deployment the
# Makefile's worker-otp, worker and worker-tracking targets start (OTPs on a worker of their own).
LAYOUTS: dict[str, list[list[str]]] = {
    "plain": [["worker", "-n", "plain@%h", "-l", "info"]],
    "split": [
        ["worker", "-Q", "otp", "--pool", "threads", "-c", "4", "-n", "otp@%h", "-l", "info"],
        [
            *("worker", "-Q", "wa,wa_official,sms,check", "--pool", "threads", "-c", "8"),
            *("-n", "bulk@%h", "-l", "info"),
        ],
        [
            *("worker", "-Q", "status,housekeeping", "--pool", "threads", "-c", "4"),
            *("-n", "tracking@%h", "-l", "info"),
        ],
    ],
}


@dataclass
class QueueSampler:
    """Reads the campaign's broker lists and window set every ``SAMPLE_EVERY_S`` in a thread."""

    client: redis.Redis
    lists: list[str]
    window_key: str
    queued: list[int] = field(default_factory=list)
    window: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> QueueSampler:
        self.thread = threading.Thread(target=self._loop, name="queue-sampler", daemon=True)
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            pipe = self.client.pipeline(transaction=False)
            for key in self.lists:
                pipe.llen(key)
            pipe.scard(self.window_key)
            *lengths, window = pipe.execute()
            self.queued.append(sum(int(n) for n in lengths))
            self.window.append(int(window))

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(5)
        return {
            "samples": len(self.queued),
            "broker_queue_max": max(self.queued, default=None),
            "broker_queue_mean": round(sum(self.queued) / len(self.queued), 1)
            if self.queued
            else None,
            "window_set_max": max(self.window, default=None),
        }


def _broker_lists(prefix: str, queue: str) -> list[str]:
    """Kombu's lists of ``queue``: the queue itself and one per priority step (``wa:6``)."""
    steps = sorted({0, *BROKER_PRIORITY.values(), 9})
    return [prefix + (queue if step == 0 else f"{queue}:{step}") for step in steps]


@contextlib.contextmanager
def _fleet(redis_url: str, prefix: str, logdir: Path, seed: int, layout: str) -> Iterator[Any]:
    """Sandbox, receiver, plain worker and beat; on the way out the processes stop first,
    then the prefix's keys go."""
    with contextlib.ExitStack() as stack:
        stack.callback(delete_prefix, redis_url, prefix)
        box = stack.enter_context(
            Sandbox(min_interval_ms=MIN_INTERVAL_MS, faults=LATENCY, seed=seed)
        )
        settings = Settings(
            redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url, callback_token=TOKEN
        )
        env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
        receiver_url = stack.enter_context(callback_receiver(env, logdir, TOKEN))
        box.set_callback_url(f"{receiver_url}/{TOKEN}")
        stack.callback(box.set_callback_url, None)  # no pushes into a stopped receiver
        fleet = stack.enter_context(Fleet(env, logdir=logdir))
        for args in LAYOUTS[layout]:
            name = args[args.index("-n") + 1].split("@")[0]
            worker = WorkerProcess.spawn(name, args, env, logdir, cwd=REPO_ROOT)
            fleet.workers.append(worker)  # the fleet stops it, whatever happens next
            worker.wait_ready(READY_TIMEOUT_S)
        beat = BeatProcess.start(env, logdir)
        stack.callback(beat.stop)
        if not beat.wait_active(30):
            raise RuntimeError(f"beat did not take the lock: {beat.log()[-2000:]}")
        yield box, settings


def run(
    redis_url: str,
    run_prefix: str,
    *,
    rows: int = 20_000,
    drain_s: float = 180.0,
    full: bool = False,
    otp_every_s: float = 2.0,
    layout: str = "plain",
    seed: int = 11,
) -> dict[str, Any]:
    """Drain (part of) a campaign beside OTPs; the figures (module docstring)."""
    prefix = f"{run_prefix}drain:"
    logdir = Path(tempfile.mkdtemp(prefix="nusaworker-cmpbench-"))
    with _fleet(redis_url, prefix, logdir, seed, layout) as (box, settings):
        campaigns = Campaigns.from_settings(settings)
        producer = Producer.from_settings(settings)
        client = redis.Redis.from_url(redis_url)
        try:
            figures = _drain(
                box,
                campaigns,
                producer,
                client,
                prefix,
                settings,
                logdir,
                rows=rows,
                drain_s=drain_s,
                full=full,
                otp_every_s=otp_every_s,
            )
            return {"layout": layout, "workers": [" ".join(a) for a in LAYOUTS[layout]], **figures}
        finally:
            client.close()
            producer.app.close()
            producer.ledger.redis.close()
            campaigns.store.redis.close()


def _drain(
    box: Sandbox,
    campaigns: Campaigns,
    producer: Producer,
    client: redis.Redis,
    prefix: str,
    settings: Settings,
    logdir: Path,
    *,
    rows: int,
    drain_s: float,
    full: bool,
    otp_every_s: float,
) -> dict[str, Any]:
    load_start = load_1m()
    recipients = ({"destination": f"62813{i:08d}", "name": f"Pelanggan {i}"} for i in range(rows))
    spec = CampaignSpec(name="bench drain", channel="wa", template=TEMPLATE)
    created = time.monotonic()
    info = campaigns.create(spec, recipients)
    accept_s = time.monotonic() - created
    sampler = QueueSampler(
        client, _broker_lists(prefix, "wa"), campaigns.store.keys.campaign_window(info.id)
    ).start()
    if not wait_for(lambda: box.stats()["hits"] > 0, FIRST_HIT_TIMEOUT_S, interval=0.05):
        raise RuntimeError(f"no campaign hit within {FIRST_HIT_TIMEOUT_S} s; logs in {logdir}")
    first_hit = time.monotonic()
    time.sleep(WARMUP_S)
    sampler.queued.clear()
    sampler.window.clear()
    start = time.monotonic()
    injected = _inject(producer, campaigns, info.id, start, drain_s, full, otp_every_s)
    end = time.monotonic()
    window = sampler.finish()
    finished = campaigns.status(info.id).state is CampaignState.FINISHED
    if not finished:
        campaigns.cancel(info.id)
    otp_ids = [message_id for message_id, _ in injected]
    wait_for(lambda: _unsent(producer, otp_ids) == 0, OTP_TIMEOUT_S, interval=0.1)
    status = campaigns.status(info.id)
    hits = box.hits(account="main")
    stats = box.stats()
    otp = _otp_latency(producer, injected, hits)
    campaign_hits = [h["t"] for h in hits if str(h["path"]).endswith(WA_PATH)]
    if full and finished and campaign_hits:
        end = max(campaign_hits)
    span = end - start
    in_span = [h for h in hits if start <= h["t"] <= end]
    sent_in_span = sum(1 for t in campaign_hits if start <= t <= end)
    gaps = [h["gap_ms"] for h in in_span if h.get("gap_ms") is not None]
    # The dispatcher keeps at most NUSAWORKER_CAMPAIGN_IN_FLIGHT of the campaign unsent.
    aimed = settings.campaign_in_flight
    campaign_rate = sent_in_span / span if span > 0 else None
    return {
        "rows": rows,
        "full": full,
        "finished": finished,
        "accept_s": round(accept_s, 3),
        "first_hit_after_create_s": round(first_hit - created, 3),
        "warmup_s": WARMUP_S,
        "span_s": round(span, 3),
        "campaign_hits_in_span": sent_in_span,
        "campaign_hits_per_s": None if campaign_rate is None else round(campaign_rate, 3),
        "campaign_rate_fraction": None
        if campaign_rate is None
        else round(campaign_rate / RULE_PER_S, 4),
        "account_hits_in_span": len(in_span),
        "account_hits_per_s": round(len(in_span) / span, 3) if span > 0 else None,
        "account_rate_fraction": round(len(in_span) / span / RULE_PER_S, 4) if span > 0 else None,
        "otp_hits_in_span": sum(1 for h in in_span if str(h["path"]).endswith(SMS_PATH)),
        "other_hits_in_span": sum(
            1 for h in in_span if not str(h["path"]).endswith((WA_PATH, SMS_PATH))
        ),
        "http_429_in_span": sum(1 for h in in_span if h.get("status") == 429),
        "min_gap_ms_in_span": round(min(gaps), 3) if gaps else None,
        "violations": stats.get("violations"),
        "otp_every_s": otp_every_s,
        "otp_latency": otp,
        "window": {
            **window,
            "aimed": aimed,
            "in_flight": settings.campaign_in_flight,
        },
        "campaign_after": {
            "state": status.state.value,
            "dispatched": status.cursor,
            "rows": status.rows,
            "messages": status.messages,
        },
        "loadavg_1m": [load_start, load_1m()],
    }


def _inject(
    producer: Producer,
    campaigns: Campaigns,
    campaign_id: str,
    start: float,
    drain_s: float,
    full: bool,
    every_s: float,
) -> list[tuple[str, float]]:
    """OTPs every ``every_s`` from ``start`` until the span ends: ``[(id, t before the call)]``.

    The span ends after ``drain_s``, or (``full``) once the campaign has finished."""
    injected: list[tuple[str, float]] = []
    i = 0
    while True:
        due = start + i * every_s
        if not full and due >= start + drain_s:
            time.sleep(max(0.0, start + drain_s - time.monotonic()))
            return injected
        if full and campaigns.status(campaign_id).state is CampaignState.FINISHED:
            return injected
        time.sleep(max(0.0, due - time.monotonic()))
        before = time.monotonic()
        message_id = producer.send_sms(f"62857{i:08d}", f"Your code is {100000 + i}", otp=True)
        injected.append((message_id, before))
        i += 1


def _unsent(producer: Producer, ids: list[str]) -> int:
    counts = producer.ledger.counts_by_state(ids)
    waiting = (MessageState.ACCEPTED, MessageState.SENDING)
    return sum(n for state, n in counts.items() if state in waiting)


def _otp_latency(
    producer: Producer, injected: list[tuple[str, float]], hits: list[dict[str, Any]]
) -> dict[str, Any]:
    records = {r.id: r for r in producer.ledger.get_many([i for i, _ in injected])}
    arrivals = {h["ref_no"]: h["t"] for h in hits if h.get("accepted") and h.get("ref_no")}
    observed: list[float] = []
    censored: list[float] = []
    now = time.monotonic()
    for message_id, before in injected:
        record = records.get(message_id)
        ref_no = record.ref_no if record is not None else None
        if ref_no is not None and ref_no in arrivals:
            observed.append((arrivals[ref_no] - before) * 1000.0)
        else:
            censored.append((now - before) * 1000.0)
    return latency_summary(observed, censored)
