"""The ledger against a real Redis: create, idempotency, reads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
import redis

from nusaworker.keys import IDEMPOTENCY_TTL_S, Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState, RecordNotFound

pytestmark = pytest.mark.integration

T = TypeVar("T")


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(prefix=key_prefix)


@pytest.fixture
def ledger(redis_client: redis.Redis, keys: Keys) -> Ledger:
    return Ledger(redis_client, keys=keys, clock=lambda: 1_700_000_000.5)


def _record(**fields: object) -> MessageRecord:
    base: dict[str, object] = {
        "channel": "wa",
        "destination": "6285100803380",
        "payload": {"destination": "6285100803380", "message": "Halo"},
    }
    base.update(fields)
    return MessageRecord.model_validate(base)


def _race(n: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in ``n`` threads released at once; return their results."""
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors, errors
    return [r for r in results if r is not None]


def test_ledger_create_then_get_round_trips(ledger: Ledger, redis_client: redis.Redis) -> None:
    record = _record(priority="otp", state=MessageState.READ, attempts=7)
    message_id, created = ledger.create(record)
    assert (message_id, created) == (record.id, True)
    stored = ledger.get(message_id)
    # The ledger, not the caller, decides the starting point.
    assert stored.state is MessageState.ACCEPTED
    assert stored.attempts == 0
    assert stored.created_at == stored.updated_at == 1_700_000_000.5
    assert stored.model_dump(exclude={"state", "attempts", "created_at", "updated_at"}) == (
        record.model_dump(exclude={"state", "attempts", "created_at", "updated_at"})
    )
    assert redis_client.ttl(ledger.keys.message(message_id)) == -1  # in flight: no TTL


def test_ledger_create_adds_to_the_accepted_index(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id, _ = ledger.create(_record())
    assert redis_client.zscore(ledger.keys.accepted_index, message_id) == 1_700_000_000.5


def test_ledger_create_with_known_idempotency_key_writes_nothing(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    first_id, first_created = ledger.create(_record(), idempotency_key="order-42")
    second = _record(destination="6281111111111")
    again_id, again_created = ledger.create(second, idempotency_key="order-42")
    assert first_created and not again_created
    assert again_id == first_id
    assert not redis_client.exists(ledger.keys.message(second.id))
    assert redis_client.zcard(ledger.keys.accepted_index) == 1
    assert ledger.get(first_id).idempotency_key == "order-42"
    ttl = redis_client.ttl(ledger.keys.idempotency("order-42"))
    assert IDEMPOTENCY_TTL_S - 5 < ttl <= IDEMPOTENCY_TTL_S


def test_ledger_create_takes_the_key_from_the_record_too(ledger: Ledger) -> None:
    first_id, _ = ledger.create(_record(idempotency_key="k"))
    assert ledger.create(_record(idempotency_key="k")) == (first_id, False)


def test_ledger_create_same_id_twice_is_one_record(ledger: Ledger) -> None:
    record = _record()
    assert ledger.create(record) == (record.id, True)
    assert ledger.create(record.model_copy(update={"destination": "62899"})) == (record.id, False)
    assert ledger.get(record.id).destination == record.destination


def test_ledger_create_concurrent_same_key_makes_exactly_one_record(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    records = [_record() for _ in range(20)]
    results = _race(20, lambda i: ledger.create(records[i], idempotency_key="campaign-7:628"))
    assert len(results) == 20
    winners = [message_id for message_id, created in results if created]
    assert len(winners) == 1
    assert {message_id for message_id, _ in results} == {winners[0]}
    written = [r.id for r in records if redis_client.exists(ledger.keys.message(r.id))]
    assert written == winners
    assert redis_client.zrange(ledger.keys.accepted_index, 0, -1) == winners


def test_ledger_get_missing_raises_record_not_found(ledger: Ledger) -> None:
    with pytest.raises(RecordNotFound) as info:
        ledger.get("nope")
    assert info.value.message_id == "nope"


def test_ledger_get_many_keeps_order_and_skips_missing(ledger: Ledger) -> None:
    a, b = _record(), _record()
    ledger.create(a)
    ledger.create(b)
    got = ledger.get_many([b.id, "missing", a.id])
    assert [r.id for r in got] == [b.id, a.id]
    assert ledger.get_many([]) == []


def test_ledger_counts_by_state(ledger: Ledger) -> None:
    ids = [ledger.create(_record())[0] for _ in range(3)]
    ledger.claim(ids[0])
    assert ledger.counts_by_state([*ids, "missing"]) == {
        MessageState.ACCEPTED: 2,
        MessageState.SENDING: 1,
    }


def test_ledger_works_with_a_client_that_returns_bytes(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)  # decode_responses=False
    try:
        ledger = Ledger(client, keys=keys)
        message_id, _ = ledger.create(_record(payload={"message": "Halo ✓"}))
        claim = ledger.claim(message_id)
        assert claim.token is not None and ledger.begin_hit(message_id, claim.token)
        ledger.mark_sent(message_id, claim.token, "REF-b", next_poll_at=0)
        assert ledger.get(message_id).payload == {"message": "Halo ✓"}
        assert ledger.id_for_ref("REF-b") == message_id
        assert ledger.due_for_poll(1, 10) == [message_id]
    finally:
        client.close()
