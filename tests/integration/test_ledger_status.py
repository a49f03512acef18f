"""Sent records, status updates and the indexes, against a real Redis."""

from __future__ import annotations

import pytest
import redis

from nusaworker.keys import RECORD_FINAL_TTL_S, REF_TTL_S, Keys
from nusaworker.ledger import (
    IllegalTransition,
    Ledger,
    MessageRecord,
    MessageState,
    RecordNotFound,
)
from nusaworker.testing.clock import FakeClock

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str, clock: FakeClock) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix), clock=clock)


def _sent(ledger: Ledger, ref_no: str, *, next_poll_at: float = 1_700_000_005.0) -> str:
    record = MessageRecord(channel="wa", destination="628123", payload={"message": "hi"})
    message_id, _ = ledger.create(record)
    claim = ledger.claim(message_id)
    assert claim.token is not None
    assert ledger.begin_hit(message_id, claim.token)
    assert ledger.mark_sent(message_id, claim.token, ref_no, next_poll_at=next_poll_at)
    return message_id


def test_ledger_mark_sent_sets_ref_index_and_sent_index(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id = _sent(ledger, "175041319203754627", next_poll_at=1_700_000_030.0)
    record = ledger.get(message_id)
    assert record.state is MessageState.SENT
    assert record.ref_no == "175041319203754627"
    assert record.sent_at == 1_700_000_000.0
    assert ledger.id_for_ref("175041319203754627") == message_id
    assert REF_TTL_S - 5 < redis_client.ttl(ledger.keys.ref("175041319203754627")) <= REF_TTL_S
    assert redis_client.zscore(ledger.keys.sent_index, message_id) == 1_700_000_030.0
    assert redis_client.ttl(ledger.keys.message(message_id)) == -1
    assert ledger.count_sent_index() == 1


def test_ledger_mark_sent_twice_is_a_noop(ledger: Ledger) -> None:
    message_id = _sent(ledger, "REF-1")
    token = ledger.get(message_id).token
    assert token is not None
    assert ledger.mark_sent(message_id, token, "REF-2", next_poll_at=0) is False
    assert ledger.get(message_id).ref_no == "REF-1"
    assert ledger.id_for_ref("REF-2") is None


def test_ledger_update_status_is_forward_only(ledger: Ledger, clock: FakeClock) -> None:
    message_id = _sent(ledger, "REF-1")
    clock.now += 10
    assert ledger.update_status(message_id, "read", provider_status="R", at=1_700_000_009.0)
    # Late and out-of-order updates change nothing.
    assert ledger.update_status(message_id, MessageState.DELIVERED, provider_status="D") is False
    assert ledger.update_status(message_id, "sent", provider_status="S") is False
    assert ledger.update_status(message_id, "failed", provider_status="F") is False
    record = ledger.get(message_id)
    assert record.state is MessageState.READ
    assert record.provider_status == "R"
    assert record.final_at == 1_700_000_009.0
    assert record.updated_at == 1_700_000_010.0


def test_ledger_update_status_delivered_then_read(ledger: Ledger) -> None:
    message_id = _sent(ledger, "REF-1")
    assert ledger.update_status(message_id, "delivered", provider_status="D")
    assert ledger.update_status(message_id, "read")
    assert ledger.get(message_id).state is MessageState.READ


def test_ledger_update_status_final_sets_ttl_and_leaves_the_poll_index(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id = _sent(ledger, "REF-1")
    assert ledger.update_status(message_id, "failed", provider_status="-13", error="bad number")
    ttl = redis_client.ttl(ledger.keys.message(message_id))
    assert RECORD_FINAL_TTL_S - 5 < ttl <= RECORD_FINAL_TTL_S
    assert redis_client.zscore(ledger.keys.sent_index, message_id) is None
    assert ledger.get(message_id).error == "bad number"
    assert ledger.id_for_ref("REF-1") == message_id  # callbacks can still find it


def test_ledger_update_status_aborts_an_accepted_record(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id, _ = ledger.create(MessageRecord(channel="sms", destination="628"))
    assert ledger.update_status(message_id, "aborted")
    assert ledger.get(message_id).state is MessageState.ABORTED
    assert redis_client.zscore(ledger.keys.accepted_index, message_id) is None
    assert redis_client.ttl(ledger.keys.message(message_id)) > 0


@pytest.mark.parametrize("state", ["accepted", "sending"])
def test_ledger_update_status_to_a_claim_state_is_illegal(ledger: Ledger, state: str) -> None:
    message_id, _ = ledger.create(MessageRecord(channel="sms", destination="628"))
    with pytest.raises(IllegalTransition):
        ledger.update_status(message_id, state)


def test_ledger_update_status_missing_record_raises(ledger: Ledger) -> None:
    with pytest.raises(RecordNotFound):
        ledger.update_status("missing", "delivered")


def test_ledger_due_for_poll_and_reschedule(ledger: Ledger) -> None:
    early = _sent(ledger, "REF-early", next_poll_at=100.0)
    late = _sent(ledger, "REF-late", next_poll_at=300.0)
    assert ledger.due_for_poll(50.0, 10) == []
    assert ledger.due_for_poll(100.0, 10) == [early]
    assert ledger.due_for_poll(500.0, 10) == [early, late]
    assert ledger.due_for_poll(500.0, 1) == [early]
    assert ledger.reschedule_poll(early, 400.0)
    assert ledger.due_for_poll(350.0, 10) == [late]
    ledger.update_status(late, "delivered")
    assert ledger.reschedule_poll(late, 10.0) is False  # final: not put back on the index
    assert ledger.due_for_poll(500.0, 10) == [early]
    assert ledger.count_sent_index() == 1


def test_ledger_stuck_accepted_finds_old_records_only(ledger: Ledger, clock: FakeClock) -> None:
    old, _ = ledger.create(MessageRecord(channel="sms", destination="628"))
    clock.now += 100
    young, _ = ledger.create(MessageRecord(channel="sms", destination="629"))
    claimed, _ = ledger.create(MessageRecord(channel="sms", destination="630"))
    ledger.claim(claimed)
    clock.now += 30
    assert ledger.stuck_accepted(60, 10) == [old]
    assert ledger.stuck_accepted(0, 10) == [old, young]
    assert ledger.stuck_accepted(0, 1) == [old]


def test_ledger_stuck_accepted_respects_release_retry_at(ledger: Ledger, clock: FakeClock) -> None:
    message_id, _ = ledger.create(MessageRecord(channel="sms", destination="628"))
    claim = ledger.claim(message_id)
    assert claim.token is not None
    ledger.release(message_id, claim.token, "TransientError: 503", retry_at=clock.now + 60)
    assert ledger.stuck_accepted(0, 10) == []
    clock.now += 61
    assert ledger.stuck_accepted(0, 10) == [message_id]


def test_ledger_mark_sent_without_ref_no_still_follows_the_record(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id, _ = ledger.create(MessageRecord(channel="check", destination="628,629"))
    claim = ledger.claim(message_id)
    assert claim.token is not None
    assert ledger.mark_sent(message_id, claim.token, None, next_poll_at=42.0)
    record = ledger.get(message_id)
    assert record.state is MessageState.SENT
    assert record.ref_no is None
    assert ledger.due_for_poll(42.0, 10) == [message_id]
    assert not list(redis_client.scan_iter(match=ledger.keys.ref("*")))


def test_ledger_final_record_lives_the_retention_asked(
    redis_client: redis.Redis, key_prefix: str
) -> None:
    ledger = Ledger(redis_client, keys=Keys(prefix=key_prefix), retention_s=2 * 24 * 3600)
    record = MessageRecord(channel="wa", destination="628123", payload={"message": "x"})
    mid = ledger.create(record)[0]
    token = ledger.claim(mid).token
    assert token is not None
    ledger.mark_sent(mid, token, "NSRETAIN1", next_poll_at=0.0)
    ledger.update_status(mid, MessageState.DELIVERED)

    ttl = redis_client.ttl(ledger.keys.message(mid))
    assert 2 * 24 * 3600 - 5 < ttl <= 2 * 24 * 3600
    assert redis_client.ttl(ledger.keys.ref("NSRETAIN1")) > 0
