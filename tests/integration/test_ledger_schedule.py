"""Retries and validity in the ledger against a real Redis: the claim's expiry check, the
retry and expiry indexes, and beat's release job (nusaworker.tracking.release)."""

from __future__ import annotations

import pytest
import redis

from nusaworker.keys import RECORD_FINAL_TTL_S, Keys
from nusaworker.ledger import ClaimOutcome, Ledger, MessageRecord, MessageState
from nusaworker.ledger.held import HeldRecords
from nusaworker.testing.clock import T0, FakeClock
from nusaworker.tracking.housekeeping import replay_stuck
from nusaworker.tracking.release import expire_waiting, release_due

pytestmark = pytest.mark.integration

S = MessageState


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str, clock: FakeClock) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix), clock=clock)


def accept(ledger: Ledger, *, validity_s: float | None = None, priority: str = "otp") -> str:
    record = MessageRecord(
        channel="sms",
        destination="6281234567890",
        priority=priority,
        payload={"destination": "6281234567890", "text": "code 123456"},
        validity_s=validity_s,
    )
    return ledger.create(record)[0]


def token_of(ledger: Ledger, message_id: str) -> str:
    claim = ledger.claim(message_id)
    assert claim.token is not None
    return claim.token


def last_event(redis_client: redis.Redis, ledger: Ledger) -> dict[str, str]:
    entries = redis_client.xrevrange(ledger.keys.events, count=1)
    return dict(entries[0][1]) if entries else {}


def test_ledger_create_with_validity_sets_expires_at_and_the_expiry_index(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    mid = accept(ledger, validity_s=300)
    plain = accept(ledger, priority="normal")

    record = ledger.get(mid)
    assert (record.validity_s, record.expires_at) == (300.0, T0 + 300)
    assert redis_client.zscore(ledger.keys.expiry_index, mid) == T0 + 300
    assert ledger.get(plain).expires_at is None
    assert redis_client.zscore(ledger.keys.expiry_index, plain) is None


def test_ledger_claim_within_validity_hands_out_a_token(ledger: Ledger, clock: FakeClock) -> None:
    mid = accept(ledger, validity_s=300)
    clock.now = T0 + 299.9

    claim = ledger.claim(mid)

    assert claim.outcome is ClaimOutcome.CLAIMED and claim.token is not None


def test_ledger_claim_past_validity_refuses_and_moves_the_record_to_expired(
    ledger: Ledger, clock: FakeClock, redis_client: redis.Redis
) -> None:
    mid = accept(ledger, validity_s=300)
    clock.now = T0 + 300

    claim = ledger.claim(mid)

    record = ledger.get(mid)
    assert (claim.outcome, claim.state, claim.token) == (ClaimOutcome.EXPIRED, S.EXPIRED, None)
    assert record.state is S.EXPIRED and record.attempts == 0
    assert record.error == "Expired: not sent within its validity of 300 s"
    assert record.final_at == T0 + 300
    assert redis_client.zscore(ledger.keys.accepted_index, mid) is None
    assert redis_client.zscore(ledger.keys.expiry_index, mid) is None
    assert 0 < redis_client.ttl(ledger.keys.message(mid)) <= RECORD_FINAL_TTL_S
    event = last_event(redis_client, ledger)
    assert (event["message_id"], event["state"], event["previous"]) == (mid, "expired", "accepted")


def test_ledger_claim_past_validity_fences_out_a_holder_whose_hit_never_started(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger, validity_s=60)
    first = token_of(ledger, mid)  # claimed, then stuck at the gate (or dead) past the validity
    clock.now = T0 + 61

    claim = ledger.claim(mid)

    assert claim.outcome is ClaimOutcome.EXPIRED and claim.token is None
    assert ledger.get(mid).state is S.EXPIRED
    assert not ledger.begin_hit(mid, first)  # the first holder may not send any more


def test_ledger_claim_past_validity_never_resends_a_message_in_doubt(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger, validity_s=60)
    first = token_of(ledger, mid)
    assert ledger.begin_hit(mid, first)  # its hit started within the validity, then it died
    clock.now = T0 + 61

    claim = ledger.claim(mid, take_in_doubt=True)

    assert (claim.outcome, claim.token) == (ClaimOutcome.IN_DOUBT, None)
    assert ledger.get(mid).state is S.SENDING  # left for the caller's in-doubt policy


def test_ledger_expire_by_the_token_holder_from_sending(ledger: Ledger, clock: FakeClock) -> None:
    mid = accept(ledger, validity_s=10)
    token = token_of(ledger, mid)
    clock.now = T0 + 5

    assert ledger.expire(mid, from_state=S.SENDING, token=token, reason="Expired: late")

    record = ledger.get(mid)
    assert (record.state, record.error, record.token) == (S.EXPIRED, "Expired: late", None)


def test_ledger_status_update_never_expires_a_record_that_was_not_sent(ledger: Ledger) -> None:
    mid = accept(ledger, validity_s=10)

    assert not ledger.update_status(mid, S.EXPIRED, error="horizon")
    assert ledger.get(mid).state is S.ACCEPTED


def test_ledger_retry_later_schedules_on_both_indexes(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    mid = accept(ledger)
    token = token_of(ledger, mid)

    ledger.retry_later(mid, token, "TransientError: HTTP 503", retry_at=T0 + 30)

    record = ledger.get(mid)
    assert (record.state, record.token, record.error) == (
        S.ACCEPTED,
        None,
        "TransientError: HTTP 503",
    )
    assert redis_client.zscore(ledger.keys.retry_index, mid) == T0 + 30
    assert redis_client.zscore(ledger.keys.accepted_index, mid) == T0 + 30
    assert ledger.due_retries(T0 + 29.9, 10) == []
    assert ledger.due_retries(T0 + 30, 10) == [mid]


def test_release_due_enqueues_only_what_is_due_and_only_once(
    ledger: Ledger, clock: FakeClock, redis_client: redis.Redis
) -> None:
    early, late = accept(ledger), accept(ledger)
    ledger.retry_later(early, token_of(ledger, early), "RateLimited: 429", retry_at=T0 + 5)
    ledger.retry_later(late, token_of(ledger, late), "RateLimited: 429", retry_at=T0 + 50)
    enqueued: list[str] = []

    assert release_due(ledger, now=T0 + 4, enqueue=lambda r: enqueued.append(r.id)).released == 0
    first = release_due(ledger, now=T0 + 5, enqueue=lambda r: enqueued.append(r.id))
    again = release_due(ledger, now=T0 + 6, enqueue=lambda r: enqueued.append(r.id))

    assert (first.released, again.released, enqueued) == (1, 0, [early])
    assert redis_client.zscore(ledger.keys.retry_index, early) is None
    assert redis_client.zscore(ledger.keys.retry_index, late) == T0 + 50


def test_release_due_drops_records_that_moved_on_and_leaves_those_being_sent(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    moved, busy = accept(ledger), accept(ledger)
    ledger.retry_later(moved, token_of(ledger, moved), "TransientError: 503", retry_at=T0)
    assert ledger.mark_rejected(moved, "aborted by the campaign")  # moved on meanwhile
    ledger.schedule_retry(busy, T0)  # a releasing holder writes the index first …
    token_of(ledger, busy)  # … while the record is still sending
    enqueued: list[str] = []

    report = release_due(ledger, now=T0 + 1, enqueue=lambda r: enqueued.append(r.id))

    assert (report.released, report.dropped, enqueued) == (0, 1, [])
    assert ledger.due_retries(T0 + 1, 10) == [busy]  # looked at again next run


def test_release_due_puts_a_record_back_when_the_broker_refuses_it(ledger: Ledger) -> None:
    mid = accept(ledger)
    ledger.retry_later(mid, token_of(ledger, mid), "TransientError: 503", retry_at=T0)

    def refuse(record: MessageRecord) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        release_due(ledger, now=T0 + 1, enqueue=refuse)
    assert ledger.due_retries(T0 + 1, 10) == [mid]


def test_release_due_expires_a_retry_that_came_due_past_the_validity(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger, validity_s=20)
    ledger.retry_later(mid, token_of(ledger, mid), "TransientError: 503", retry_at=T0 + 10)
    clock.now = T0 + 25  # beat was away; the retry is due, the validity is over
    enqueued: list[str] = []

    report = release_due(ledger, now=clock.now, enqueue=lambda r: enqueued.append(r.id))

    assert (report.released, report.expired, enqueued) == (0, 1, [])
    record = ledger.get(mid)
    assert record.state is S.EXPIRED
    assert record.error == "Expired: not sent within its validity of 20 s"


def test_expire_waiting_expires_records_still_waiting_and_forgets_the_others(
    ledger: Ledger, clock: FakeClock, redis_client: redis.Redis
) -> None:
    waiting = accept(ledger, validity_s=30)
    claimed = accept(ledger, validity_s=30)
    token_of(ledger, claimed)
    later = accept(ledger, validity_s=90)
    clock.now = T0 + 30

    assert expire_waiting(ledger, now=clock.now) == 1

    assert ledger.get(waiting).state is S.EXPIRED
    assert ledger.get(claimed).state is S.SENDING  # the claim or the retry decision decides
    assert ledger.get(later).state is S.ACCEPTED
    assert redis_client.zrange(ledger.keys.expiry_index, 0, -1) == [later]


def test_replay_leaves_a_scheduled_retry_alone_until_well_past_its_due_time(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger)
    ledger.retry_later(mid, token_of(ledger, mid), "TransientError: 503", retry_at=T0 + 1000)
    enqueued: list[str] = []

    def replay() -> list[str]:
        return replay_stuck(
            ledger, older_than_s=600, period_s=60, enqueue=lambda r: enqueued.append(r.id)
        ).replayed

    clock.now = T0 + 1000 + 599
    assert replay() == []
    clock.now = T0 + 1000 + 600  # every release job missed it: the safety net catches it
    assert replay() == [mid]


def test_ledger_begin_hit_past_validity_refuses_and_keeps_the_claim(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger, validity_s=30)
    token = token_of(ledger, mid)  # claimed in time, then waited for its turn too long
    clock.now = T0 + 30

    assert not ledger.begin_hit(mid, token)

    record = ledger.get(mid)
    assert (record.state, record.token, record.hit_started) == (S.SENDING, token, False)
    assert ledger.expire(mid, from_state=S.SENDING, token=token)


def test_expire_waiting_expires_a_record_held_for_a_paused_channel(
    ledger: Ledger, clock: FakeClock, redis_client: redis.Redis
) -> None:
    held = HeldRecords(redis_client, keys=ledger.keys, clock=clock)
    guard, into = ledger.keys.breaker("main", "sms"), ledger.keys.held("main", "sms")
    redis_client.set(guard, "{}")  # the channel's breaker is open
    mid = accept(ledger, validity_s=300)
    assert held.hold(mid, retry_at=T0 + 600, reason="Paused", into=into, guard=guard) == "held"
    clock.now = T0 + 300

    assert expire_waiting(ledger, now=clock.now) == 1

    assert ledger.get(mid).state is S.EXPIRED
    assert ledger.get(mid).error == "Expired: not sent within its validity of 300 s"
    assert redis_client.zscore(ledger.keys.accepted_index, mid) is None  # replay leaves it
