"""The claim protocol against a real Redis: claim once, take over, fencing, in doubt, release."""

from __future__ import annotations

import threading

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import (
    ClaimOutcome,
    Fenced,
    IllegalTransition,
    Ledger,
    MessageRecord,
    MessageState,
    RecordNotFound,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def message_id(ledger: Ledger) -> str:
    record = MessageRecord(channel="sms", destination="628123", payload={"SMSText": "x"})
    return ledger.create(record)[0]


def _token(ledger: Ledger, message_id: str) -> str:
    claim = ledger.claim(message_id)
    assert claim.token is not None
    return claim.token


def test_ledger_claim_moves_accepted_to_sending(
    ledger: Ledger, message_id: str, redis_client: redis.Redis
) -> None:
    claim = ledger.claim(message_id)
    assert claim.outcome is ClaimOutcome.CLAIMED
    assert claim.state is MessageState.SENDING
    assert claim.attempts == 1
    assert claim.token is not None and len(claim.token) == 32
    record = ledger.get(message_id)
    assert record.state is MessageState.SENDING
    assert record.token == claim.token
    assert record.hit_started is False
    assert record.claimed_at is not None
    assert redis_client.zscore(ledger.keys.accepted_index, message_id) is None


def test_ledger_claim_exactly_once_under_20_concurrent_claimers(
    ledger: Ledger, message_id: str
) -> None:
    # 20 copies of one task, each claiming and going straight for its hit.
    barrier = threading.Barrier(20)
    results: list[tuple[ClaimOutcome, bool]] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        claim = ledger.claim(message_id)
        started = claim.token is not None and ledger.begin_hit(message_id, claim.token)
        with lock:
            results.append((claim.outcome, started))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 20
    outcomes = [outcome for outcome, _ in results]
    assert outcomes.count(ClaimOutcome.CLAIMED) == 1  # accepted → sending happened once
    assert set(outcomes) <= {ClaimOutcome.CLAIMED, ClaimOutcome.TAKEN_OVER, ClaimOutcome.IN_DOUBT}
    assert [started for _, started in results].count(True) == 1  # exactly one hit


def test_ledger_claim_concurrent_holders_only_one_may_begin_its_hit(
    ledger: Ledger, message_id: str
) -> None:
    # 20 copies of one task all claim (every later one takes over), then all race to the hit.
    tokens = [ledger.claim(message_id).token for _ in range(20)]
    assert all(tokens) and len(set(tokens)) == 20
    barrier = threading.Barrier(20)
    started: list[bool] = []

    def hit(token: str) -> None:
        barrier.wait()
        started.append(ledger.begin_hit(message_id, token))

    threads = [threading.Thread(target=hit, args=(t,)) for t in tokens if t]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert started.count(True) == 1
    assert ledger.get(message_id).attempts == 20


def test_ledger_claim_takes_over_when_the_hit_never_started(
    ledger: Ledger, message_id: str
) -> None:
    old = _token(ledger, message_id)
    claim = ledger.claim(message_id)
    assert claim.outcome is ClaimOutcome.TAKEN_OVER
    assert claim.token is not None and claim.token != old
    assert claim.attempts == 2
    # The first worker comes back from the gate: fenced out, it must not send.
    assert ledger.begin_hit(message_id, old) is False
    assert ledger.get(message_id).hit_started is False
    assert ledger.begin_hit(message_id, claim.token) is True
    with pytest.raises(Fenced):
        ledger.mark_sent(message_id, old, "REF-old", next_poll_at=0)
    with pytest.raises(Fenced):
        ledger.release(message_id, old, "TransientError: 503")
    with pytest.raises(Fenced):
        ledger.mark_failed(message_id, "PermanentError: x", token=old)
    assert ledger.get(message_id).state is MessageState.SENDING


def test_ledger_claim_in_doubt_after_begin_hit(ledger: Ledger, message_id: str) -> None:
    token = _token(ledger, message_id)
    assert ledger.begin_hit(message_id, token)
    claim = ledger.claim(message_id)
    assert claim.outcome is ClaimOutcome.IN_DOUBT
    assert claim.token is None and not claim.may_send
    assert claim.attempts == 1
    record = ledger.get(message_id)
    assert record.token == token  # nothing changed
    assert record.hit_started and record.hit_started_at is not None


def test_ledger_claim_take_in_doubt_hands_out_a_new_token(ledger: Ledger, message_id: str) -> None:
    token = _token(ledger, message_id)
    assert ledger.begin_hit(message_id, token)
    claim = ledger.claim(message_id, take_in_doubt=True)
    assert claim.outcome is ClaimOutcome.IN_DOUBT
    assert claim.token is not None and claim.token != token
    assert ledger.get(message_id).hit_started is False
    assert ledger.begin_hit(message_id, token) is False
    assert ledger.begin_hit(message_id, claim.token) is True


def test_ledger_begin_hit_is_idempotent_for_the_holder(ledger: Ledger, message_id: str) -> None:
    token = _token(ledger, message_id)
    assert ledger.begin_hit(message_id, token)
    first = ledger.get(message_id).hit_started_at
    assert ledger.begin_hit(message_id, token)  # a retry attempt of the same claim
    assert ledger.get(message_id).hit_started_at == first


@pytest.mark.parametrize("state", ["sent", "rejected", "unknown"])
def test_ledger_claim_not_claimable_reports_the_state(
    ledger: Ledger, message_id: str, state: str
) -> None:
    token = _token(ledger, message_id)
    if state == "sent":
        ledger.mark_sent(message_id, token, "REF-1", next_poll_at=0)
    elif state == "rejected":
        ledger.mark_rejected(message_id, "PermanentError: bad number", token=token)
    else:
        ledger.mark_unknown(message_id, "AmbiguousOutcome: reset", token=token)
    claim = ledger.claim(message_id)
    assert claim.outcome is ClaimOutcome.NOT_CLAIMABLE
    assert claim.state == state
    assert claim.token is None
    assert ledger.get(message_id).attempts == 1


def test_ledger_claim_and_begin_hit_missing_record_raise(ledger: Ledger) -> None:
    with pytest.raises(RecordNotFound):
        ledger.claim("missing")
    with pytest.raises(RecordNotFound):
        ledger.begin_hit("missing", "t")


def test_ledger_begin_hit_outside_sending_is_refused(ledger: Ledger, message_id: str) -> None:
    assert ledger.begin_hit(message_id, "anything") is False  # still accepted


def test_ledger_release_returns_the_record_for_a_retry(
    ledger: Ledger, message_id: str, redis_client: redis.Redis
) -> None:
    token = _token(ledger, message_id)
    ledger.release(message_id, token, "RateLimited: 429", retry_at=1_900_000_000.0)
    record = ledger.get(message_id)
    assert record.state is MessageState.ACCEPTED
    assert record.error == "RateLimited: 429"
    assert record.token is None and record.hit_started is False
    assert redis_client.zscore(ledger.keys.accepted_index, message_id) == 1_900_000_000.0
    # The released worker holds nothing any more; the next claim starts afresh.
    assert ledger.begin_hit(message_id, token) is False
    again = ledger.claim(message_id)
    assert again.outcome is ClaimOutcome.CLAIMED
    assert again.attempts == 2


def test_ledger_release_outside_sending_is_illegal(ledger: Ledger, message_id: str) -> None:
    token = _token(ledger, message_id)
    ledger.mark_unknown(message_id, "AmbiguousOutcome: reset")
    with pytest.raises(IllegalTransition) as info:
        ledger.release(message_id, token, "TransientError: 503")
    assert info.value.current == "unknown"
    assert ledger.get(message_id).state is MessageState.UNKNOWN


def test_ledger_mark_rejected_from_accepted_leaves_the_accepted_index(
    ledger: Ledger, message_id: str, redis_client: redis.Redis
) -> None:
    assert ledger.mark_rejected(message_id, ValueError("destination is not a number"))
    record = ledger.get(message_id)
    assert record.state is MessageState.REJECTED
    assert record.error == "ValueError: destination is not a number"
    assert record.final_at is not None
    assert redis_client.zscore(ledger.keys.accepted_index, message_id) is None


def test_ledger_mark_unknown_then_late_answer_is_recorded_by_the_holder(
    ledger: Ledger, message_id: str, redis_client: redis.Redis
) -> None:
    token = _token(ledger, message_id)
    assert ledger.begin_hit(message_id, token)
    # A redelivered copy finds the hit in doubt and gives up on it...
    assert ledger.claim(message_id).outcome is ClaimOutcome.IN_DOUBT
    assert ledger.mark_unknown(message_id, "AmbiguousOutcome: worker lost")
    assert redis_client.ttl(ledger.keys.message(message_id)) > 0
    # ...then the first worker's slow answer arrives after all.
    assert ledger.mark_sent(message_id, token, "REF-late", next_poll_at=5.0)
    record = ledger.get(message_id)
    assert record.state is MessageState.SENT
    assert record.ref_no == "REF-late"
    assert redis_client.ttl(ledger.keys.message(message_id)) == -1  # in flight again: no TTL
    assert redis_client.zscore(ledger.keys.sent_index, message_id) == 5.0


def test_ledger_mark_failed_not_allowed_is_a_noop(ledger: Ledger, message_id: str) -> None:
    assert ledger.mark_failed(message_id, "PermanentError: x") is False  # accepted → failed
    assert ledger.mark_unknown(message_id, "x") is False
    assert ledger.get(message_id).state is MessageState.ACCEPTED
