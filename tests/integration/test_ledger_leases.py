"""Leases against a real Redis: the lease index follows the claim, and what a dead holder held
is resolved by :func:`resolve_dead_holders` exactly as the redelivery policy says."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import ClaimOutcome, Fenced, Ledger, MessageRecord, MessageState
from nusaworker.ledger.leases import (
    IN_DOUBT_ERROR,
    LATE_IN_DOUBT_ERROR,
    RESENT_IN_DOUBT_ERROR,
    WORKER_LOST_ERROR,
    Leases,
)
from nusaworker.ledger.recovery import resolve_dead_holders

pytestmark = pytest.mark.integration

S = MessageState
DEAD = "dead@host|1|aaaa"
ALIVE = "alive@host|2|bbbb"


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def leases(ledger: Ledger) -> Leases:
    return Leases(ledger.redis, keys=ledger.keys)


def _new(ledger: Ledger, priority: str = "normal") -> str:
    record = MessageRecord(channel="sms", destination="628123", priority=priority)
    return ledger.create(record)[0]


def _claimed(ledger: Ledger, holder: str, *, started: bool, priority: str = "normal") -> str:
    message_id = _new(ledger, priority)
    claim = ledger.claim(message_id, holder=holder)
    assert claim.token is not None
    if started:
        assert ledger.begin_hit(message_id, claim.token)
    return message_id


def _kill(leases: Leases, holder: str) -> None:
    """A holder that heartbeated once and then died (SIGKILL): registered, key gone."""
    leases.beat(holder, 60)
    leases.redis.delete(leases.keys.heartbeat(holder))


def _resolve(ledger: Ledger, leases: Leases, enqueued: list[str], otp_resend: bool = True) -> Any:
    return resolve_dead_holders(
        ledger, leases, enqueue=lambda r: enqueued.append(r.id), otp_resend_in_doubt=otp_resend
    )


def test_lease_index_follows_the_claim_and_every_move_out_of_sending(
    ledger: Ledger, leases: Leases
) -> None:
    sent = _claimed(ledger, ALIVE, started=True)
    released = _claimed(ledger, ALIVE, started=False)
    unknown = _claimed(ledger, ALIVE, started=True)
    held = _claimed(ledger, ALIVE, started=False)
    assert sorted(leases.held()[ALIVE]) == sorted([sent, released, unknown, held])
    assert ledger.get(held).holder == ALIVE

    ledger.mark_sent(sent, ledger.get(sent).token or "", "R1", next_poll_at=0.0)
    ledger.release(released, ledger.get(released).token or "", "RateLimited: 429")
    ledger.mark_unknown(unknown, "AmbiguousOutcome: x", token=ledger.get(unknown).token)

    assert leases.held() == {ALIVE: [held]}
    # A claim without a holder (no liveness) is no lease, and a take-over moves the lease.
    retaken = ledger.claim(released)
    assert retaken.outcome is ClaimOutcome.CLAIMED
    assert leases.held() == {ALIVE: [held]}
    ledger.claim(held, holder=DEAD)
    assert leases.held() == {DEAD: [held]}


def test_resolve_dead_holders_leaves_a_live_holder_alone(ledger: Ledger, leases: Leases) -> None:
    leases.beat(ALIVE, 60)
    message_id = _claimed(ledger, ALIVE, started=False)
    enqueued: list[str] = []

    report = _resolve(ledger, leases, enqueued)

    assert (report.dead, enqueued) == ([], [])
    assert ledger.get(message_id).state is S.SENDING


def test_resolve_dead_holders_gives_back_a_claim_whose_hit_never_started(
    ledger: Ledger, leases: Leases
) -> None:
    message_id = _claimed(ledger, DEAD, started=False)
    old_token = ledger.get(message_id).token or ""
    _kill(leases, DEAD)
    enqueued: list[str] = []

    report = _resolve(ledger, leases, enqueued)

    record = ledger.get(message_id)
    assert report.dead == [DEAD]
    assert report.requeued == enqueued == [message_id]
    assert (record.state, record.token, record.holder) == (S.ACCEPTED, None, None)
    assert record.error == WORKER_LOST_ERROR
    assert ledger.stuck_accepted(0, 10) == [message_id]
    # The "dead" holder, were it alive after all, is fenced out: it cannot start its hit.
    assert not ledger.begin_hit(message_id, old_token)
    assert leases.held() == {}
    assert DEAD not in {h.decode() for h in ledger.redis.smembers(ledger.keys.holders)}


def test_resolve_dead_holders_marks_a_started_non_otp_hit_unknown_and_keeps_its_token(
    ledger: Ledger, leases: Leases
) -> None:
    message_id = _claimed(ledger, DEAD, started=True)
    old_token = ledger.get(message_id).token or ""
    _kill(leases, DEAD)
    enqueued: list[str] = []

    report = _resolve(ledger, leases, enqueued)

    assert report.unknown == [message_id]
    assert enqueued == []
    record = ledger.get(message_id)
    assert (record.state, record.error) == (S.UNKNOWN, IN_DOUBT_ERROR)
    # A late answer of the old holder's hit is still recorded.
    assert ledger.mark_sent(message_id, old_token, "R-LATE", next_poll_at=0.0)
    assert ledger.get(message_id).state is S.SENT


def test_resolve_dead_holders_resends_a_started_otp_and_fences_the_old_holder(
    ledger: Ledger, leases: Leases
) -> None:
    otp = _claimed(ledger, DEAD, started=True, priority="otp")
    kept = _claimed(ledger, DEAD, started=True, priority="otp")
    old_token = ledger.get(otp).token or ""
    _kill(leases, DEAD)
    resent: list[str] = []
    not_resent: list[str] = []

    report = _resolve(ledger, leases, resent, otp_resend=True)
    assert set(report.resent) == set(resent) == {otp, kept}
    record = ledger.get(otp)
    assert (record.state, record.error) == (S.ACCEPTED, RESENT_IN_DOUBT_ERROR)
    with pytest.raises(Fenced):
        ledger.mark_sent(otp, old_token, "R-OLD", next_poll_at=0.0)
    assert ledger.claim(otp).outcome is ClaimOutcome.CLAIMED

    other = _claimed(ledger, "dead2@host|3|cccc", started=True, priority="otp")
    _kill(leases, "dead2@host|3|cccc")
    _resolve(ledger, leases, not_resent, otp_resend=False)
    assert not_resent == []
    assert ledger.get(other).state is S.UNKNOWN


def test_resolve_dead_holders_does_not_resend_an_otp_in_doubt_past_its_validity(
    ledger: Ledger, leases: Leases
) -> None:
    record = MessageRecord(channel="sms", destination="628123", priority="otp", validity_s=300)
    message_id = ledger.create(record)[0]
    claim = ledger.claim(message_id, holder=DEAD)
    assert claim.token is not None and ledger.begin_hit(message_id, claim.token)
    ledger.redis.hset(ledger.keys.message(message_id), "expires_at", repr(time.time() - 1))
    _kill(leases, DEAD)
    enqueued: list[str] = []

    report = _resolve(ledger, leases, enqueued)

    assert (report.unknown, enqueued) == ([message_id], [])
    assert ledger.get(message_id).error == LATE_IN_DOUBT_ERROR


def test_resolve_dead_holders_enqueues_received_accepted_records_that_are_due(
    ledger: Ledger, leases: Leases
) -> None:
    waiting = _new(ledger)
    sent = _claimed(ledger, ALIVE, started=True)
    ledger.mark_sent(sent, ledger.get(sent).token or "", "R2", next_poll_at=0.0)
    later = _new(ledger)
    ledger.redis.zadd(ledger.keys.accepted_index, {later: time.time() + 600})  # a back-off
    _kill(leases, DEAD)
    for n, message_id in enumerate([waiting, sent, later]):
        leases.note_received(DEAD, f"task-{n}", message_id)
    enqueued: list[str] = []

    report = _resolve(ledger, leases, enqueued)

    assert report.received == enqueued == [waiting]
    assert ledger.redis.exists(ledger.keys.received(DEAD)) == 0


def test_resolve_dead_holders_is_fenced_against_a_hit_started_after_it_read(
    ledger: Ledger, leases: Leases
) -> None:
    message_id = _claimed(ledger, DEAD, started=False)
    record = ledger.get(message_id)
    _kill(leases, DEAD)
    # The holder was slow, not dead: it starts its hit between beat's read and its write.
    assert ledger.begin_hit(message_id, record.token or "")

    verdict = leases.give_back(
        message_id, DEAD, record.token or "", hit_started=False, error="x", now=time.time()
    )

    assert verdict == "changed"
    assert ledger.get(message_id).state is S.SENDING
    leases.beat(DEAD, 60)  # and its heartbeat is back: nothing is touched
    assert (
        leases.give_back(message_id, DEAD, record.token or "", hit_started=True, error="x", now=0)
        == "alive"
    )


def test_leases_retire_drops_heartbeat_and_received_but_not_the_registration(
    ledger: Ledger, leases: Leases
) -> None:
    leases.beat(ALIVE, 60)
    leases.note_received(ALIVE, "t1", "m1")
    leases.drop_received(ALIVE, "t1")
    leases.note_received(ALIVE, "t2", "m2")

    leases.retire(ALIVE)

    assert not leases.is_alive(ALIVE)
    assert leases.received(ALIVE) == []
    assert leases.dead() == [ALIVE]
    assert leases.forget(ALIVE)
    assert leases.dead() == []


def test_leases_heartbeats_are_not_trusted_within_a_ttl_of_a_redis_start(leases: Leases) -> None:
    uptime = float(leases.redis.info("server")["uptime_in_seconds"])
    # The shared test server has been up for a while: a missing heartbeat means a dead worker.
    assert leases.heartbeats_trustworthy(min(uptime, 8.0))
    # A server up for less than a TTL may have come back with every heartbeat expired.
    assert not leases.heartbeats_trustworthy(uptime + 60.0)
