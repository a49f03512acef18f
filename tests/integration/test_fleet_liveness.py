"""Worker liveness with real ``celery worker`` processes and DEFAULT settings: a SIGKILLed
worker's claims and received tasks come back within seconds, long before the broker's
visibility timeout (600 s) would hand them out; a gracefully stopped one leaves nothing held."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis

from nusaworker.ledger import MessageRecord, MessageState
from nusaworker.ledger.leases import Leases
from nusaworker.ledger.recovery import Recovery, resolve_dead_holders
from nusaworker.producer import Producer
from nusaworker.routing import SEND_TASK, enqueue_send
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

QUEUES = "otp,wa"
# A received task that would otherwise wait this long (and then, its worker dead, the
# visibility timeout): only the liveness path can bring it back within the test.
FAR_COUNTDOWN_S = 300
# Dead within the heartbeat TTL (8 s), resolved within a beat period or two (2 s), sent within
# a few seconds more: anything near this bound shows the fast path, far below 600 s.
RECOVERED_WITHIN_S = 45.0

S = MessageState


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:live:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


def _producer(redis_url: str, prefix: str, box: Sandbox) -> Producer:
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


def _leases(producer: Producer) -> Leases:
    return Leases(producer.ledger.redis, keys=producer.ledger.keys)


def _holders(producer: Producer) -> list[str]:
    members = producer.ledger.redis.smembers(producer.ledger.keys.holders)
    return sorted(m.decode() if isinstance(m, bytes) else m for m in members)


def _holder_of(producer: Producer, node: str) -> str:
    found = wait_for(lambda: [h for h in _holders(producer) if h.startswith(f"{node}@")], 10)
    assert len(found) == 1, _holders(producer)
    return found[0]


def _received_later(producer: Producer, n: int, tag: str) -> list[str]:
    """Records whose only task is received by a worker at once but runs much later."""
    ids = []
    for i in range(n):
        destination = f"62817{tag}{i:05d}"
        record = MessageRecord(
            channel="wa",
            destination=destination,
            payload={"destination": destination, "message": f"later {i}"},
        )
        message_id, _ = producer.ledger.create(record)
        producer.app.send_task(SEND_TASK, args=[message_id], queue="wa", countdown=FAR_COUNTDOWN_S)
        ids.append(message_id)
    return ids


def _settled(producer: Producer, ids: list[str]) -> Counter[str]:
    states = Counter(str(r.state) for r in producer.ledger.get_many(ids))
    return states if not (states["accepted"] or states["sending"]) else Counter()


def _resolve(producer: Producer) -> Recovery:
    return resolve_dead_holders(
        producer.ledger,
        _leases(producer),
        enqueue=lambda r: enqueue_send(producer.app.send_task, r.id, r.channel, r.priority),
        otp_resend_in_doubt=True,
    )


def test_liveness_sigkilled_worker_claims_and_received_tasks_are_resolved_in_seconds(
    redis_url: str, prefix: str
) -> None:
    # Slow answers: the victim's hits are in flight (started, no answer) when it is killed.
    with Sandbox(host="127.0.0.1", port=0, faults=FaultProfile(latency_ms=3000), seed=5) as box:
        producer = _producer(redis_url, prefix, box)
        env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
        with Fleet(env) as fleet:
            victim = fleet.start("victim", QUEUES, concurrency=2)
            holder = _holder_of(producer, "victim")
            assert producer.ledger.redis.pttl(producer.ledger.keys.heartbeat(holder)) > 0
            # Received first: a worker holds ETA tasks beside the ones it runs (and only those:
            # with acks_late and prefetch 1 it fetches nothing more while its threads are busy).
            later = _received_later(producer, 3, "1")
            leases = _leases(producer)
            assert wait_for(lambda: len(leases.received(holder)) >= 3, 15), "not received"
            otp = producer.send_sms("6289900000001", "Your code is 123456", otp=True)
            bulk = producer.send_whatsapp("6281700000001", "in flight", priority="bulk")
            assert wait_for(
                lambda: all(r.hit_started for r in producer.ledger.get_many([otp, bulk])), 15
            ), producer.ledger.get_many([otp, bulk])
            assert leases.held().get(holder, []) != []

            victim.kill()
            killed_at = time.monotonic()
            fleet.start("survivor", QUEUES, concurrency=2)
            assert wait_for(lambda: not leases.is_alive(holder), 15), "heartbeat outlived its TTL"
            report = _resolve(producer)
            ids = [otp, bulk, *later]
            states = wait_for(lambda: _settled(producer, ids), RECOVERED_WITHIN_S)
            recovered_s = time.monotonic() - killed_at
            print(f"\ndirect: settled {recovered_s:.1f} s after the kill")

        records = {r.id: r for r in producer.ledger.get_many(ids)}
        per_destination = Counter(m["destination"] for m in box.messages())

    assert report.dead == [holder]
    assert report.resent == [otp]  # an OTP in doubt is resent (default policy)
    assert report.unknown == [bulk]  # anything else in doubt is never sent again
    assert sorted(report.received) == sorted(later)
    assert states == Counter({"sent": 4, "unknown": 1}), states
    assert recovered_s < RECOVERED_WITHIN_S
    assert records[otp].state is S.SENT
    for message_id in later:
        assert records[message_id].state is S.SENT
        assert per_destination[records[message_id].destination] == 1
    assert per_destination[records[bulk].destination] <= 1
    assert _holders(producer) == [h for h in _holders(producer) if h.startswith("survivor@")]
    assert holder not in _leases(producer).held()


def test_liveness_graceful_stop_leaves_nothing_held(redis_url: str, prefix: str) -> None:
    with Sandbox(host="127.0.0.1", port=0, faults=FaultProfile(latency_ms=300), seed=6) as box:
        producer = _producer(redis_url, prefix, box)
        env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
        with Fleet(env) as fleet:
            worker = fleet.start("graceful", QUEUES, concurrency=2)
            holder = _holder_of(producer, "graceful")
            ids = [producer.send_whatsapp(f"6281800000{i:03d}", f"m {i}") for i in range(4)]
            leases = _leases(producer)
            assert wait_for(lambda: leases.held().get(holder), 15), "nothing claimed"
            worker.stop()  # SIGTERM while tasks run: they finish, heartbeating meanwhile
            states = Counter(str(r.state) for r in producer.ledger.get_many(ids))

            assert worker.proc.returncode == 0, worker.log()[-2000:]
            assert not leases.is_alive(holder)
            assert leases.received(holder) == []
            assert holder not in leases.held()
            assert states["sending"] == 0, states
            report = _resolve(producer)

    assert report.dead == [holder]
    assert report.enqueued == 0
    assert holder not in _holders(producer)


def test_liveness_beat_resolves_a_sigkilled_worker_with_default_settings(
    redis_url: str, prefix: str
) -> None:
    with Sandbox(host="127.0.0.1", port=0, faults=FaultProfile(latency_ms=100), seed=7) as box:
        producer = _producer(redis_url, prefix, box)
        env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
        with Fleet(env) as fleet:
            fleet.start("tracking", "status,housekeeping", concurrency=2)
            beat = BeatProcess.start(env, fleet.logdir)
            try:
                assert beat.wait_active(30), beat.log()[-2000:]
                victim = fleet.start("victim", QUEUES, concurrency=2)
                holder = _holder_of(producer, "victim")
                later = _received_later(producer, 4, "2")
                leases = _leases(producer)
                assert wait_for(lambda: len(leases.received(holder)) >= 4, 15), "not received"

                victim.kill()
                killed_at = time.monotonic()
                fleet.start("survivor", QUEUES, concurrency=2)
                states = wait_for(lambda: _settled(producer, later), RECOVERED_WITHIN_S)
                recovered_s = time.monotonic() - killed_at
                print(f"\nbeat: settled {recovered_s:.1f} s after the kill")
                forgotten = wait_for(lambda: holder not in _holders(producer), 10)
            finally:
                beat.stop()
        per_destination = Counter(m["destination"] for m in box.messages())

    assert states == Counter({"sent": 4}), states
    assert recovered_s < RECOVERED_WITHIN_S
    assert forgotten
    for record in producer.ledger.get_many(later):
        assert per_destination[record.destination] == 1


def test_liveness_heartbeat_is_written_by_the_worker_with_the_default_ttl(
    redis_url: str, prefix: str, sandbox: Sandbox
) -> None:
    producer = _producer(redis_url, prefix, sandbox)
    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=sandbox.url)
    with Fleet(env) as fleet:
        fleet.start("hb", "wa", concurrency=1)
        holder = _holder_of(producer, "hb")
        client: redis.Redis = producer.ledger.redis
        key = producer.ledger.keys.heartbeat(holder)
        ttl_ms = client.pttl(key)
        # Rewritten every second: once it ran down a little, it is soon back up.
        low = wait_for(lambda: (v := client.pttl(key)) < ttl_ms - 300 and v, 5)
        refreshed = wait_for(lambda: client.pttl(key) > low, 5)

    assert 0 < ttl_ms <= Settings().heartbeat_ttl_s * 1000
    assert refreshed


def test_liveness_prefork_children_claim_under_the_parents_identity(
    redis_url: str, prefix: str, sandbox: Sandbox
) -> None:
    producer = _producer(redis_url, prefix, sandbox)
    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=sandbox.url)
    with Fleet(env) as fleet:
        # "processes" is prefork: celery takes a "--pool prefork" on the command line for its
        # default and replaces it with celeryconfig's worker_pool ("threads").
        fleet.start("forked", "wa", concurrency=2, pool="processes")
        holder = _holder_of(producer, "forked")
        ids = [producer.send_whatsapp(f"6281900000{i:03d}", f"m {i}") for i in range(3)]
        states = wait_for(lambda: _settled(producer, ids), 30)
        leases = _leases(producer)
        # The children drop what the parent noted when their task ends.
        drained = wait_for(lambda: leases.received(holder) == [], 10)

    assert states == Counter({"sent": 3}), states
    assert {r.holder for r in producer.ledger.get_many(ids)} == {holder}
    assert drained
    assert _holders(producer) == [holder]  # one identity: the children never heartbeat
