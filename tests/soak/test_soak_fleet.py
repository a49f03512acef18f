"""The load and soak run (``make soak``): 100,000 messages through the plain deployment.

A fleet started as a new user starts it — three ``celery -A nusaworker worker -Q
otp,wa,wa_official,sms,check -c 8`` (celeryconfig's default concurrency), one ``-Q otp -c 2``,
one ``-Q status,housekeeping -c 4`` and ``celery -A nusaworker beat``, default pool and default
settings — drains
``NUSAWORKER_SOAK_MESSAGES`` (default 100,000) messages to the sandbox: 5 % OTP SMS, the rest
WhatsApp, WhatsApp Official and SMS at ``normal`` and ``bulk`` priority. Meanwhile workers are
SIGKILLed a few times (and replaced at once, as a supervisor would) and the Redis server
(broker, ledger and gate in one, its own ``redis-server`` with ``--appendonly yes
--appendfsync everysec``) is restarted once: a clean stop by default, a crash (SIGKILL) with
``NUSAWORKER_SOAK_REDIS_STOP=crash`` — see RELIABILITY.md for what ``everysec`` may lose then.

Throughput: the rule is one hit per 50 ms *per account*, and a route is an ordered failover
list, not a pool — one account sends a route's traffic — so the run gives each channel an
account of its own and OTPs one more (4 accounts: a ceiling of 80 hits/s, of which status polls
take up to 4/s per polled account); the box's two cores are the real limit. The producer keeps
the broker's backlog bounded (a backend at a steady load, not one burst of 100,000 tasks),
which also keeps Redis's memory to what the records need.

What must hold at the end: every accepted message left ``accepted``/``sending`` (sent or beyond,
or a final failure), none lost (each has its record, each record that says it was sent is known
to the provider), none but an OTP in doubt received twice by the provider, no hit of any
account closer than 50 ms to the previous one, and every worker's resident set at or under
150 MB throughout. Redis's memory is measured and reported, not bounded: it is what the records
of 100,000 messages kept for their retention need (about 2 KB each), not a leak. The figures
go to ``bench-results/reliability/soak.json``
(and RELIABILITY.md's table).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import redis

from nusaworker.bench.procstat import PROC, parse_status_kib
from nusaworker.producer import EnqueueError, Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, CeleryProcess, Fleet, WorkerProcess, fleet_env
from nusaworker.testing.redis_server import PersistentRedis
from nusaworker.testing.reliability import RESULTS_DIR, mark_passed, write_scenario

pytestmark = [pytest.mark.soak, pytest.mark.integration]

MESSAGES = int(os.environ.get("NUSAWORKER_SOAK_MESSAGES", "100000"))
# How Redis is restarted: "clean" (SIGTERM), "crash" (SIGKILL of the process: the page cache
# keeps what it wrote) or "powerloss" (the last LOSS_WINDOW_S of writes cut from the AOF: what
# everysec may lose when the machine dies). The last two are scenarios of their own.
REDIS_STOP = os.environ.get("NUSAWORKER_SOAK_REDIS_STOP", "clean")
LOSS_WINDOW_S = 1.0
# A time budget for the enqueueing (seconds; unset: none): the run then accepts what it can in
# that time, and the kills and the restart come at their share of the budget if that is
# sooner than their share of the messages. For a box too slow (or too busy) for the count.
BUDGET_S = float(os.environ.get("NUSAWORKER_SOAK_ENQUEUE_S", "0")) or None
RESTART_KIND = {
    "clean": "SIGTERM",
    "crash": "SIGKILL",
    "powerloss": f"SIGKILL and the last {LOSS_WINDOW_S:.0f} s of its AOF cut: a power loss",
}
OTP_EVERY = 20  # every 20th message an OTP: 5 %
SEND_QUEUES = "otp,wa,wa_official,sms,check"
CONCURRENCY = 8  # celeryconfig's worker_concurrency: what a worker without -c runs
# The plain fleet: role → (queues, -c); how many of each.
ROLES = {
    "send": (SEND_QUEUES, CONCURRENCY),
    "otp": ("otp", 2),
    "tracking": ("status,housekeeping", 4),
}
WORKERS = {"send": 3, "otp": 1, "tracking": 1}
# When, as a share of the messages enqueued, a worker is SIGKILLed (the third an OTP worker)
# and Redis restarted.
KILL_AT = (0.12, 0.28, 0.44, 0.64, 0.80)
OTP_KILL = 2  # index into KILL_AT
REDIS_RESTART_AT = 0.55
# How long Redis stays away (seconds, stop to start; the load of its AOF comes on top). Longer
# than a heartbeat TTL (8 s) plays a restart that every heartbeat outlives: beat must then wait
# for the workers' next beats rather than take them for dead.
REDIS_DOWN_S = float(os.environ.get("NUSAWORKER_SOAK_REDIS_DOWN_S", "2.0"))
# The producer waits while the broker holds this many send tasks: a steady load. It enqueues
# from a few threads (a backend's web workers): one call is mostly waiting on round trips.
BACKLOG = 2_000
PRODUCER_THREADS = 6
BATCH = 300
# After the last enqueue: a record whose task was lost (the producer met the Redis restart
# between its record and its task) is enqueued again by the replay sweep after
# NUSAWORKER_REPLAY_AFTER_S (600 s, default): the run waits for it.
SETTLE_TIMEOUT_S = 1_200.0
# How many records that end ``unknown`` soak.json lists (the count is reported in full).
UNKNOWN_RECORDS_KEPT = 500
SAMPLE_EVERY_S = 2.0
MEMORY_LIMIT_MB = 150.0
TEMPLATE_ID = "65a08d56-a2b9-45f5-98d3-98671e639055"  # the documents' (and sandbox's) ids
CHANNEL_ID = "15974c27-3116-49f4-8627-5fc30b0c66d8"
# An account per channel (and one for OTPs): a route's traffic goes through its first account.
# Not more: every account with messages to follow is polled at up to 4 polls/s (20 % of its
# budget, NUSAWORKER_POLL_SHARE), work the box's two cores would take from the sends.
ROUTES = {
    "sms:otp": "otp",
    "wa": "wa",
    "wa_official": "wao",
    "sms": "sms",
}
# What message i is (i not an OTP): channel and priority, in turn.
MIX = (
    ("wa", "normal"),
    ("wa", "bulk"),
    ("wa_official", "normal"),
    ("wa_official", "bulk"),
    ("sms", "normal"),
    ("sms", "bulk"),
)
BROKER_QUEUES = ("otp", "wa", "wa_official", "sms")
PRIORITY_STEPS = ("", ":3", ":6", ":9")  # celeryconfig's priority_steps, sep ":"


@pytest.fixture
def soak_redis() -> Iterator[PersistentRedis]:
    with PersistentRedis(appendfsync="everysec") as server:
        yield server


def _env(redis_url: str, prefix: str, box: Sandbox) -> dict[str, str]:
    accounts = []
    for name in ROUTES.values():
        key = f"soak-{name}-key"
        box.add_account(name, api_key=key, sms_user=name, sms_password=key)
        credentials = {"api_key": key, "sms_user": name, "sms_password": key}
        accounts.append({"name": name, "base_url": box.url, "credentials": credentials})
    return fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        accounts=json.dumps(accounts),
        routes=json.dumps({route: [name] for route, name in ROUTES.items()}),
    )


def _destination(i: int) -> str:
    return f"628{i:010d}"


def _submit(producer: Producer, i: int, run: str) -> str:
    """Message ``i`` of the mix through the public producer API."""
    number = _destination(i)
    key = f"soak-{run}-{i}"
    if i % OTP_EVERY == 0:
        return producer.send_sms(
            number, f"Your code is {i % 1_000_000:06d}", otp=True, idempotency_key=key
        )
    channel, priority = MIX[i % len(MIX)]
    if channel == "wa":
        return producer.send_whatsapp(number, f"Hello #{i}", priority=priority, idempotency_key=key)
    if channel == "sms":
        return producer.send_sms(number, f"Promo #{i}", priority=priority, idempotency_key=key)
    return producer.send_wa_official_broadcast(
        number, "Ani", TEMPLATE_ID, CHANNEL_ID, priority=priority, idempotency_key=key
    )


class Sampler(threading.Thread):
    """Every couple of seconds: Redis's ``used_memory`` (and its own peak) and the resident set
    of every live celery process; keeps the maximum of each."""

    def __init__(self, redis_url: str, processes: list[CeleryProcess]) -> None:
        super().__init__(daemon=True, name="soak-sampler")
        self.redis_url = redis_url
        self.processes = processes  # appended to by the test as workers are replaced
        self.redis_peak = 0
        self.rss_kib: dict[str, int] = {}
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=1)
        try:
            while not self.stopped.wait(SAMPLE_EVERY_S):
                self.sample(client)
        finally:
            client.close()

    def sample(self, client: redis.Redis) -> None:
        self.samples += 1
        try:
            memory = client.info("memory")
            used = max(int(memory["used_memory"]), int(memory["used_memory_peak"]))
            self.redis_peak = max(self.redis_peak, used)
        except (redis.RedisError, OSError):
            pass  # the restart: nothing to sample
        for process in list(self.processes):
            try:
                status = (PROC / str(process.proc.pid) / "status").read_text()
            except OSError:
                continue  # killed
            # VmHWM: the resident set's high-water mark, so a peak between samples counts too.
            peak = parse_status_kib(status, "VmHWM") or 0
            self.rss_kib[process.name] = max(self.rss_kib.get(process.name, 0), peak)


def _backlog(client: redis.Redis, prefix: str) -> int:
    pipe = client.pipeline(transaction=False)
    for queue in BROKER_QUEUES:
        for step in PRIORITY_STEPS:
            pipe.llen(f"{prefix}{queue}{step}")
    return sum(int(n) for n in pipe.execute())


@pytest.mark.timeout(6 * 3600)
def test_soak_fleet_drains_load_through_kills_and_redis_restart(
    soak_redis: PersistentRedis,
) -> None:
    rng = random.Random(20261203)
    run = uuid.uuid4().hex[:8]
    prefix = f"nwsoak:{run}:"
    faults = FaultProfile(latency_ms=30, latency_jitter_ms=10)
    kill_at = [round(MESSAGES * share) for share in KILL_AT]
    restart_at = round(MESSAGES * REDIS_RESTART_AT)
    kills: list[str] = []
    downtime_s: float | None = None
    cut_bytes = 0
    producer_errors: Counter[str] = Counter()
    with (
        Sandbox(host="127.0.0.1", port=0, faults=faults, seed=13) as box,
        Fleet(_env(soak_redis.url, prefix, box)) as fleet,
    ):
        print(f"\nredis {soak_redis.url} (dir {soak_redis.dir})  worker logs {fleet.logdir}")
        producer = Producer.from_settings(
            Settings(redis_url=soak_redis.url, key_prefix=prefix, nusasms_base_url=box.url)
        )
        probe = redis.Redis.from_url(soak_redis.url, socket_timeout=5)

        def start(name: str, queues: str, concurrency: int) -> WorkerProcess:
            # No --pool: the pool celeryconfig.py chooses, as a new user runs it.
            return fleet.start(name, queues, concurrency=concurrency, pool=None)

        beat = BeatProcess.start(fleet.env, fleet.logdir)
        processes: list[CeleryProcess] = [beat]
        crashes: list[str] = []
        started = 0

        def spawn(role: str) -> WorkerProcess:
            nonlocal started
            queues, concurrency = ROLES[role]
            worker = start(f"{role}{started}", queues, concurrency)
            started += 1
            processes.append(worker)
            return worker

        def restart_redis(at: int) -> None:
            nonlocal downtime_s
            nonlocal cut_bytes
            keys = soak_redis.dbsize()
            if REDIS_STOP == "powerloss":
                down, cut_bytes = soak_redis.power_loss(LOSS_WINDOW_S, REDIS_DOWN_S)
            else:
                down = soak_redis.restart(REDIS_DOWN_S, crash=REDIS_STOP == "crash")
            downtime_s = down
            print(
                f"[{at}] redis restarted ({REDIS_STOP}), {keys} keys before, "
                f"{soak_redis.dbsize()} after, down {down:.2f} s, AOF cut {cut_bytes} bytes",
                flush=True,
            )

        try:
            assert beat.wait_active(60), beat.log()[-2000:]
            pools = {role: [spawn(role) for _ in range(n)] for role, n in WORKERS.items()}
            sampler = Sampler(soak_redis.url, processes)
            sampler.start()

            def supervise(at: str) -> None:
                """Start again any worker that exited by itself, as a supervisor
                (deploy/systemd: Restart=always) would, and count it: a crash."""
                nonlocal beat
                if beat.proc.poll() is not None:
                    crashes.append(f"{beat.name}@{at}: {_exit_reason(beat)}")
                    beat = BeatProcess.start(fleet.env, fleet.logdir, name=f"beat{len(crashes)}")
                    processes.append(beat)
                for role, pool in pools.items():
                    for worker in [w for w in pool if w.proc.poll() is not None]:
                        crashes.append(f"{worker.name}@{at}: {_exit_reason(worker)}")
                        pool.remove(worker)
                        pool.append(spawn(role))

            ids: list[str] = []
            began = time.monotonic()
            last_report = began
            restart: threading.Thread | None = None
            enqueue = partial(_enqueue, producer, run=run, errors=producer_errors)
            with ThreadPoolExecutor(PRODUCER_THREADS, thread_name_prefix="producer") as pool:
                for first in range(0, MESSAGES, BATCH):
                    elapsed = time.monotonic() - began
                    if BUDGET_S is not None and elapsed >= BUDGET_S:
                        break

                    k = len(kills)
                    if k < len(kill_at) and _due(first, elapsed, kill_at[k], KILL_AT[k]):
                        role = "otp" if len(kills) == OTP_KILL else "send"
                        victims = pools[role]
                        victim = victims.pop(rng.randrange(len(victims)))
                        victim.kill()
                        kills.append(f"{victim.name}@{first}")
                        victims.append(spawn(role))
                    if restart is None and _due(first, elapsed, restart_at, REDIS_RESTART_AT):
                        # In a thread: the producers keep enqueueing into the outage.
                        restart = threading.Thread(target=restart_redis, args=(first,))
                        restart.start()
                    batch = range(first, min(first + BATCH, MESSAGES))
                    ids.extend(pool.map(enqueue, batch))
                    supervise(str(first))
                    while _quiet(lambda: _backlog(probe, prefix), default=0) > BACKLOG:
                        time.sleep(0.5)
                        supervise(str(first))
                    now = time.monotonic()
                    if now - last_report > 30:
                        last_report = now
                        print(
                            f"[{now - began:7.1f} s] enqueued {len(ids)}, provider has "
                            f"{box.stats()['accepted_sends']}, redis peak "
                            f"{sampler.redis_peak / 2**20:.1f} MB, crashes {len(crashes)}",
                            flush=True,
                        )
            assert restart is not None
            restart.join()
            enqueued_s = time.monotonic() - began

            # Settle: every record out of accepted/sending. Only the unsettled are read again.
            pending = list(ids)
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while pending and time.monotonic() < deadline:
                supervise("settle")
                pending = _unsettled(producer, pending)
                if pending:
                    waited = time.monotonic() - began
                    print(f"[{waited:7.1f} s] {len(pending)} unsettled", flush=True)
                    time.sleep(5)
            settled_s = time.monotonic() - began
            memory_by_kind = _memory_by_kind(probe, prefix)
            sampler.stopped.set()
            sampler.join()
        finally:
            beat.stop()

        records = []
        for chunk in range(0, len(ids), 5_000):
            records.extend(producer.ledger.get_many(ids[chunk : chunk + 5_000]))
        stats = box.stats()
        messages = box.messages()
        # The workers' logs outlive the fleet (which keeps them only when it fails itself):
        # an assertion below may need them.
        logs = RESULTS_DIR / f"soak-{REDIS_STOP}-logs"
        shutil.rmtree(logs, ignore_errors=True)
        shutil.copytree(fleet.logdir, logs)

    by_id = {r.id: r for r in records}
    states = Counter(str(r.state) for r in records)
    otp_destinations = {_destination(i) for i in range(0, MESSAGES, OTP_EVERY)}
    received = Counter(m["destination"] for m in messages)
    at_provider = {m["ref_no"]: m["destination"] for m in messages}
    duplicates = {d: n for d, n in received.items() if n > 1 and d not in otp_destinations}
    otp_resent = {d: n for d, n in received.items() if n > 1 and d in otp_destinations}
    missing = sorted(set(ids) - set(by_id))
    stuck = sorted(r.id for r in records if r.state in ("accepted", "sending"))
    sent_states = {"sent", "delivered", "read"}
    # Sent, says the ledger, yet the provider has no such message to that number.
    phantom = sorted(
        r.id
        for r in records
        if r.state in sent_states and at_provider.get(r.ref_no or "") != r.destination
    )
    lost = len(missing) + len(stuck) + len(phantom)
    created = [m["created"] for m in messages]
    span_s = (max(created) - min(created)) if created else 0.0
    per_account = {
        name: {k: tally[k] for k in ("hits", "violations", "min_gap_ms", "accepted_sends")}
        for name, tally in stats["accounts"].items()
    }
    worker_rss_mb = {name: round(kib / 1024, 1) for name, kib in sampler.rss_kib.items()}
    beat_rss_mb = max(
        (worker_rss_mb.pop(name) for name in list(worker_rss_mb) if name.startswith("beat")),
        default=None,
    )
    max_worker_rss_mb = max(worker_rss_mb.values())
    redis_peak_mb = round(sampler.redis_peak / 2**20, 1)
    unknown_bound = CONCURRENCY * (len(kills) + 1)
    # Each record in doubt, as the ledger left it: its error says which path ended it, its
    # holder and times place it against the kills and the restart (and the worker logs), and
    # whether the provider has it tells a hit that went from one that never left.
    unknown_records = [
        {
            "id": r.id,
            "priority": r.priority,
            "account": r.account,
            "holder": r.holder,
            "error": r.error,
            "hit_started_at": r.hit_started_at,
            "updated_at": r.updated_at,
            "at_provider": r.destination in received,
        }
        for r in records
        if r.state == "unknown"
    ][:UNKNOWN_RECORDS_KEPT]
    figures: dict[str, Any] = {
        "injected": (
            f"{len(kills)} worker SIGKILLs, 1 Redis restart ({RESTART_KIND[REDIS_STOP]}, AOF "
            "everysec), 30±10 ms provider latency"
        ),
        "messages_in": len(ids),
        "messages_out": len(received),
        "duplicates": len(duplicates),
        "otp_resent": len(otp_resent),
        "lost": lost,
        "unknown": states["unknown"],
        "violations": stats["violations"],
        "notes": (
            f"{len(messages) / span_s if span_s else 0:.1f} sends/s, {settled_s:.0f} s; "
            f"Redis peak {redis_peak_mb} MB; max worker RSS {max_worker_rss_mb} MB; "
            f"Redis down {downtime_s or 0:.1f} s; {len(crashes)} workers exited by themselves"
        ),
        "states": dict(sorted(states.items())),
        "missing": len(missing),
        "stuck": len(stuck),
        "phantom_sent": len(phantom),
        "provider_hits": stats["hits"],
        "provider_accepted_sends": stats["accepted_sends"],
        "min_gap_ms": stats["min_gap_ms"],
        "accounts": per_account,
        "sends_per_s": round(len(messages) / span_s, 1) if span_s else None,
        "send_span_s": round(span_s, 1),
        "enqueued_s": round(enqueued_s, 1),
        "settled_s": round(settled_s, 1),
        "redis_used_memory_peak_mb": redis_peak_mb,
        "worker_peak_rss_mb": worker_rss_mb,
        "max_worker_rss_mb": max_worker_rss_mb,
        "beat_peak_rss_mb": beat_rss_mb,
        "memory_samples": sampler.samples,
        "redis_memory_by_kind_mb": memory_by_kind,
        "kills": kills,
        "worker_crashes": crashes,
        "redis_restart": REDIS_STOP,
        "redis_down_s": round(downtime_s or 0.0, 2),
        "aof_bytes_cut": cut_bytes,
        "producer_retries": dict(producer_errors),
        "unknown_bound": unknown_bound,
        "unknown_records": unknown_records,
        "messages_setting": MESSAGES,
    }
    scenario = "soak" if REDIS_STOP == "clean" else f"soak-{REDIS_STOP}"
    path = write_scenario(scenario, figures)
    print(json.dumps(figures, indent=2))
    print(f"figures: {path}, worker logs: {logs}")

    assert len(ids) == MESSAGES or BUDGET_S is not None
    assert downtime_s is not None and len(kills) == len(KILL_AT)
    assert not missing, missing[:10]
    assert not stuck, stuck[:10]
    assert not phantom, phantom[:10]
    assert not duplicates, list(duplicates.items())[:10]
    assert stats["violations"] == 0, per_account
    assert states["unknown"] <= unknown_bound, states
    assert max_worker_rss_mb <= MEMORY_LIMIT_MB, worker_rss_mb
    mark_passed(path)


def _due(index: int, elapsed: float, at: int, share: float) -> bool:
    """Whether an event placed at message ``at`` (``share`` of the run) is due."""
    return index >= at or (BUDGET_S is not None and elapsed >= share * BUDGET_S)


def _memory_by_kind(client: redis.Redis, prefix: str, sample: int = 50) -> dict[str, Any]:
    """Where Redis's memory went at the end: per kind of key (the name's first part after the
    prefix: ``msg``, ``idem``, ``events``…) how many and about how many MB (MEMORY USAGE of up
    to ``sample`` of them, scaled)."""
    kinds: dict[str, list[bytes]] = {}
    for key in client.scan_iter(match=prefix + "*", count=5_000):
        kind = key[len(prefix) :].split(b":", 1)[0].decode(errors="replace")
        kinds.setdefault(kind, []).append(key)
    out: dict[str, Any] = {}
    for kind, keys in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        measured = [client.memory_usage(key) or 0 for key in keys[:sample]]
        estimate = sum(measured) / max(len(measured), 1) * len(keys)
        out[kind] = {"keys": len(keys), "mb": round(estimate / 2**20, 1)}
    return out


def _exit_reason(process: CeleryProcess) -> str:
    """The line of a process's log that says why it stopped (else its last line)."""
    lines = process.log().strip().splitlines()
    fatal = [line for line in lines if "CRITICAL" in line or "Unrecoverable" in line]
    return (fatal or lines or [""])[-1][-300:]


def _quiet(read: Any, *, default: int) -> int:
    """``read()``, or ``default`` while Redis is away (the restart)."""
    try:
        return int(read())
    except (redis.RedisError, OSError):
        return default


ERRORS_LOCK = threading.Lock()


def _enqueue(producer: Producer, i: int, run: str, errors: Counter[str]) -> str:
    """Message ``i``; a call refused while Redis is down is tried again with the same
    idempotency key, so a record already written is not written twice."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return _submit(producer, i, run)
        except (redis.RedisError, OSError, EnqueueError) as exc:
            with ERRORS_LOCK:
                errors[type(exc).__name__] += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _unsettled(producer: Producer, ids: list[str]) -> list[str]:
    """Those of ``ids`` whose record is still ``accepted``/``sending`` (or missing)."""
    out: list[str] = []
    for chunk in range(0, len(ids), 5_000):
        part = ids[chunk : chunk + 5_000]
        try:
            records = {r.id: r for r in producer.ledger.get_many(part)}
        except (redis.RedisError, OSError):
            return ids
        unsettled = {"accepted", "sending"}
        out.extend(i for i in part if i not in records or records[i].state in unsettled)
    return out
