"""One account per message, and the failover error window, against a real Redis."""

from __future__ import annotations

import pytest
import redis

from nusaworker.failover import AccountHealth
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.testing.clock import FakeClock

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def message_id(ledger: Ledger) -> str:
    record = MessageRecord(channel="sms", destination="628123", payload={"text": "x"})
    return ledger.create(record)[0]


def test_accounts_begin_hit_records_the_account(ledger: Ledger, message_id: str) -> None:
    token = ledger.claim(message_id).token
    assert token is not None

    assert ledger.begin_hit(message_id, token, "backup")
    assert ledger.begin_hit(message_id, token, "backup")  # a retry of the same claim

    assert ledger.get(message_id).account == "backup"


def test_accounts_message_in_doubt_is_only_sent_again_by_its_account(
    ledger: Ledger, message_id: str
) -> None:
    first = ledger.claim(message_id).token
    assert first is not None and ledger.begin_hit(message_id, first, "nusasms")
    # The worker died mid-hit: the record is in doubt; another worker takes it over.
    retaken = ledger.claim(message_id, take_in_doubt=True).token
    assert retaken is not None

    assert not ledger.begin_hit(message_id, retaken, "backup")
    assert ledger.begin_hit(message_id, retaken, "nusasms")
    assert ledger.get(message_id).account == "nusasms"
    # Even after a refused hit the first one may still have gone: the account stays pinned.
    ledger.hit_refused(message_id, retaken)
    assert not ledger.begin_hit(message_id, retaken, "backup")
    assert ledger.get(message_id).account_pinned


def test_accounts_refused_hit_frees_the_message_for_another_account(
    ledger: Ledger, message_id: str
) -> None:
    token = ledger.claim(message_id).token
    assert token is not None and ledger.begin_hit(message_id, token, "nusasms")
    ledger.hit_refused(message_id, token)  # 429/5xx: not processed, nothing in doubt

    assert ledger.begin_hit(message_id, token, "backup")
    assert ledger.get(message_id).account == "backup"


def test_failover_health_counts_errors_within_the_window(
    redis_client: redis.Redis, key_prefix: str
) -> None:
    clock = FakeClock(1_000.0)
    health = AccountHealth(
        redis_client, keys=Keys(prefix=key_prefix), threshold=3, window_s=60, clock=clock
    )
    for _ in range(2):
        health.error("nusasms")
    assert not health.degraded("nusasms") and health.errors("nusasms") == 2

    health.error("nusasms")
    assert health.degraded("nusasms") and not health.degraded("backup")

    clock.advance(61)  # the errors age out: traffic tends back
    assert health.errors("nusasms") == 0 and not health.degraded("nusasms")
    assert redis_client.ttl(Keys(prefix=key_prefix).account_errors("nusasms")) > 0
