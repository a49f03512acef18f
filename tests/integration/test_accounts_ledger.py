"""One account per message, and the failover error window, against a real Redis."""

from __future__ import annotations

import pytest
import redis

from nusaworker.accounts import AccountTable
from nusaworker.delivery import deliver
from nusaworker.failover import AccountHealth, RouteBook, SlowRule
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.settings import Settings
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
        health.error("nusasms", "wa")
    assert not health.degraded("nusasms", "wa") and health.errors("nusasms", "wa") == 2

    health.error("nusasms", "wa")
    assert health.degraded("nusasms", "wa") and not health.degraded("backup", "wa")
    # Per channel: WhatsApp Official down does not degrade the account's SMS.
    assert not health.degraded("nusasms", "sms") and health.errors("nusasms", "sms") == 0

    clock.advance(61)  # the errors age out: traffic tends back
    assert health.errors("nusasms", "wa") == 0 and not health.degraded("nusasms", "wa")
    assert redis_client.ttl(Keys(prefix=key_prefix).account_errors("nusasms", "wa")) > 0


def _health(redis_client: redis.Redis, key_prefix: str, clock: FakeClock) -> AccountHealth:
    return AccountHealth(
        redis_client,
        keys=Keys(prefix=key_prefix),
        threshold=50,
        window_s=60,
        slow=SlowRule(share=0.15, after_s=300, window_s=900, min_sample=20),
        clock=clock,
    )


@pytest.mark.parametrize(("pending", "slow"), [(5, True), (4, False)])
def test_failover_slow_delivery_at_15_percent_not_delivered_after_5_minutes(
    redis_client: redis.Redis, key_prefix: str, pending: int, slow: bool
) -> None:
    clock = FakeClock(10_000.0)
    health = _health(redis_client, key_prefix, clock)
    ids = [f"m{i}" for i in range(30)]
    for message_id in ids:
        health.sent("nusasms", message_id)
    young = "m-young"
    clock.advance(301)
    health.sent("nusasms", young)  # sent just now: too young to judge
    states = {i: ("sent" if n < pending else "delivered") for n, i in enumerate(ids)}
    states[young] = "sent"

    verdict = health.assess("nusasms", lambda asked: [states.get(i) for i in asked])

    assert (verdict.judged, verdict.pending, verdict.slow) == (30, pending, slow)
    assert health.degraded("nusasms", "wa") is slow and health.is_slow("nusasms") is slow
    assert not health.degraded("backup", "wa")


def test_failover_slow_needs_a_sample_and_ages_out(
    redis_client: redis.Redis, key_prefix: str
) -> None:
    clock = FakeClock(10_000.0)
    health = _health(redis_client, key_prefix, clock)
    for i in range(19):
        health.sent("nusasms", f"m{i}")
    clock.advance(301)

    verdict = health.assess("nusasms", lambda asked: ["sent"] * len(asked))
    assert (verdict.judged, verdict.slow) == (19, False)  # everything pending, but too few

    health.sent("nusasms", "m19")
    clock.advance(301)
    assert health.assess("nusasms", lambda asked: ["sent"] * len(asked)).slow
    clock.advance(901)  # all of them older than the window: nothing left to judge
    verdict = health.assess("nusasms", lambda asked: ["sent"] * len(asked))
    assert (verdict.judged, verdict.slow) == (0, False) and not health.degraded("nusasms", "sms")


def test_ledger_states_reads_many_records_in_one_trip(ledger: Ledger, message_id: str) -> None:
    assert ledger.states([message_id, "nope"]) == ["accepted", None]


class _NeverCalled:
    account = "nusasms:never"

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"no hit may be made ({name})")


class _Open:
    def is_paused(self, channel: str) -> bool:
        return False


def test_accounts_in_doubt_by_an_account_no_longer_declared_ends_unknown(
    ledger: Ledger, redis_client: redis.Redis, key_prefix: str
) -> None:
    record = MessageRecord(
        channel="sms", destination="628123", priority="otp", payload={"text": "1"}
    )
    message_id = ledger.create(record)[0]
    token = ledger.claim(message_id).token
    assert token is not None and ledger.begin_hit(message_id, token, "gone")
    # Its worker died mid-hit; the settings no longer declare account "gone".
    table = AccountTable.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    health = AccountHealth(redis_client, keys=Keys(prefix=key_prefix), threshold=50, window_s=60)
    book = RouteBook(
        table,
        clients={"nusasms": _NeverCalled()},
        guards={"nusasms": _Open()},
        health=health,  # type: ignore[dict-item]
    )

    outcome = deliver(message_id, ledger=ledger, client=_NeverCalled(), routes=book)  # type: ignore[arg-type]

    assert outcome.state is MessageState.UNKNOWN
    assert "'gone', no longer declared" in (outcome.error or "")
    assert ledger.get(message_id).state is MessageState.UNKNOWN
