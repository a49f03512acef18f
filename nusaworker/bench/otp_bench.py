"""Scenario 2: how long an OTP waits when a bulk backlog is draining.

``priority`` — the new user's fleet (:func:`.layouts.new_user_fleet`: three ``-Q <all send
queues> -c 4`` workers that take ``otp`` first, one ``-Q otp -c 2`` worker, the default pool):
bulk WhatsApp on ``wa`` (priority ``bulk``), OTP SMS on the ``otp`` queue with ``"otp"``
priority at the gate; run once per gate (``NUSAWORKER_PACING_GATE``).

``fifo`` — the baseline: the same backlog and the same OTPs, all on one queue with one priority
(``wa``, broker priority 3, record priority ``normal``), the same four processes consuming only
that queue. OTPs then wait behind the backlog; those that have not arrived ``fifo_timeout``
seconds after the last one was injected are reported as censored (``>=`` the time waited).

An OTP's latency is the sandbox's arrival time of its accepted hit (kernel-stamped, on the
``time.monotonic()`` clock) minus ``time.monotonic()`` just before the producer call; hits are
matched to OTPs by the ``ref_no`` their ledger record got.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from nusaworker.bench.layouts import fifo_fleet, new_user_fleet
from nusaworker.bench.rig import Meter, Rig, Stage, WorkerSpec, load_1m, wait_until
from nusaworker.bench.stats import count_between, latency_summary
from nusaworker.ledger import MessageRecord
from nusaworker.producer import Producer
from nusaworker.providers import SmsRequest
from nusaworker.routing import BROKER_PRIORITY, SEND_TASK

# Let the bulk fleet reach its steady pace before the first OTP.
SETTLE_S = 2.0
# With its own queue an OTP lands within a fraction of a second; this only bounds a failure.
PRIORITY_TIMEOUT_S = 30.0
OTP_GAP_S = (0.5, 1.0)

Send = Callable[[str, str], str]


def enqueue_backlog(producer: Producer, count: int, priority: str) -> tuple[list[str], float]:
    """Queue ``count`` WhatsApp messages; returns their ids and the seconds it took."""
    started = time.monotonic()
    ids = [
        producer.send_whatsapp(f"62813{i:08d}", f"Campaign {i}: 20% off today", priority=priority)
        for i in range(count)
    ]
    return ids, time.monotonic() - started


def fifo_otp(producer: Producer, destination: str, text: str) -> str:
    """An OTP SMS recorded like any message and queued on ``wa`` at the one shared priority."""
    request = SmsRequest(destination=destination, text=text, otp=True)
    record = MessageRecord(
        channel="sms",
        destination=request.destination,
        priority="normal",
        payload=request.model_dump(mode="json", exclude_none=True),
    )
    message_id, _ = producer.ledger.create(record)
    producer.app.send_task(
        SEND_TASK, args=[message_id], queue="wa", priority=BROKER_PRIORITY["normal"]
    )
    return message_id


def inject_otps(send: Send, count: int, seed: int) -> list[tuple[str, float]]:
    """Send ``count`` OTPs to distinct numbers, 0.5-1 s apart: ``[(id, t before the call)]``."""
    rng = random.Random(seed)
    injected: list[tuple[str, float]] = []
    for i in range(count):
        if i:
            time.sleep(rng.uniform(*OTP_GAP_S))
        before = time.monotonic()
        message_id = send(f"62857{i:08d}", f"Your code is {rng.randrange(100000, 999999)}")
        injected.append((message_id, before))
    return injected


def run_priority(rig: Rig, *, backlog: int, otps: int, gate: str) -> dict[str, Any]:
    """Our fleet through ``gate``: OTP queue and worker of their own, beside the bulk backlog."""
    with rig.stage(f"otp-priority-{gate}", pacing_gate=gate) as stage:
        row = _run(
            stage,
            new_user_fleet(),
            backlog=backlog,
            backlog_priority="bulk",
            otps=otps,
            send=lambda dest, text: stage.producer.send_sms(dest, text, otp=True),
            seed=rig.seed,
            timeout=PRIORITY_TIMEOUT_S,
        )
        if not row["all_arrived"]:
            row["logs"] = stage.save_logs()
    row["gate"] = gate
    return row


def run_fifo(rig: Rig, *, backlog: int, otps: int, timeout: float) -> dict[str, Any]:
    """The baseline: everything on one FIFO queue, one priority."""
    with rig.stage("otp-fifo") as stage:
        return _run(
            stage,
            fifo_fleet(),
            backlog=backlog,
            backlog_priority="normal",
            otps=otps,
            send=lambda dest, text: fifo_otp(stage.producer, dest, text),
            seed=rig.seed,
            timeout=timeout,
        )


def _run(
    stage: Stage,
    specs: list[WorkerSpec],
    *,
    backlog: int,
    backlog_priority: str,
    otps: int,
    send: Send,
    seed: int,
    timeout: float,
) -> dict[str, Any]:
    load_start = load_1m()
    _, enqueue_s = enqueue_backlog(stage.producer, backlog, backlog_priority)
    stage.start(specs)
    time.sleep(SETTLE_S)
    meter = Meter.start(stage.pids())
    injected = inject_otps(send, otps, seed)
    last_injected = time.monotonic()
    otp_ids = [message_id for message_id, _ in injected]
    finished = wait_until(lambda: stage.pending(otp_ids) == 0, timeout, poll=0.1)
    ended = time.monotonic()
    cpu, machine = meter.stop()
    hits = stage.box.hits(account="main")
    records = {r.id: r for r in stage.producer.ledger.get_many(otp_ids)}
    arrivals = {h["ref_no"]: h["t"] for h in hits if h.get("accepted") and h.get("ref_no")}
    observed: list[float] = []
    censored: list[float] = []
    otp_refs: set[str] = set()
    for message_id, before in injected:
        ref_no = records[message_id].ref_no if message_id in records else None
        if ref_no is not None and ref_no in arrivals:
            otp_refs.add(ref_no)
            observed.append((arrivals[ref_no] - before) * 1000.0)
        else:
            censored.append((ended - before) * 1000.0)
    bulk_times = [t for ref, t in arrivals.items() if ref not in otp_refs]
    first_injected = injected[0][1] if injected else ended
    window_s = ended - first_injected
    during = count_between(bulk_times, first_injected, ended)
    return {
        "fleet": [spec.describe() for spec in specs],
        "backlog": backlog,
        "backlog_priority": backlog_priority,
        "backlog_enqueue_s": round(enqueue_s, 3),
        "otps": otps,
        "all_arrived": finished and not censored,
        "wait_limit_s": timeout,
        "otp_window_s": round(window_s, 3),
        "otp_wait_after_last_s": round(ended - last_injected, 3),
        "latency": latency_summary(observed, censored),
        "bulk_sent_before_first_otp": sum(1 for t in bulk_times if t < first_injected),
        "bulk_sent_during_otps": during,
        "bulk_rate_during_otps_per_s": round(during / window_s, 2) if window_s > 0 else None,
        "violations": sum(1 for h in hits if h.get("violation")),
        "http_429": sum(1 for h in hits if h.get("status") == 429),
        "worker_cpu_s_during_otps": cpu,
        "pools": dict(stage.pools),
        "machine": machine,
        "loadavg_1m": [load_start, load_1m()],
    }
