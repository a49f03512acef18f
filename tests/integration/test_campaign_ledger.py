"""The ledger's side of campaigns against a real Redis: the claim obeys a campaign's control
word, every move is counted per state in the campaign's hash, and a final record is compact."""

from __future__ import annotations

import pytest
import redis

from nusaworker.campaigns.spec import CampaignSpec
from nusaworker.campaigns.store import CANCEL, PAUSE, RUN, CampaignStore
from nusaworker.keys import Keys
from nusaworker.ledger import ClaimOutcome, Ledger, MessageRecord, MessageState

pytestmark = pytest.mark.integration

TEXT = "Hi Budi, our promo this week: 20% off everything in every store, see you soon!"


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(prefix=key_prefix)


@pytest.fixture
def ledger(redis_client: redis.Redis, keys: Keys) -> Ledger:
    return Ledger(redis_client, keys=keys)


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys) -> CampaignStore:
    made = CampaignStore(redis_client, keys=keys)
    made.create("c1", CampaignSpec(name="t", channel="wa", template="x"))
    return made


def record(row: int, campaign: str | None = "c1") -> MessageRecord:
    destination = f"62812000{row:05d}"
    return MessageRecord(
        id=f"c1.{row}" if campaign else f"m{row}",
        channel="wa",
        destination=destination,
        priority="bulk",
        payload={"destination": destination, "message": TEXT},
        campaign=campaign,
    )


def counts(store: CampaignStore) -> dict[str, int]:
    info = store.load("c1")
    assert info is not None
    return info.messages


def test_the_claim_obeys_the_campaign_control_word(
    ledger: Ledger, store: CampaignStore, keys: Keys
) -> None:
    ledger.create(record(1))
    store.set_fields("c1", control=PAUSE)
    claim = ledger.claim("c1.1")
    assert claim.outcome is ClaimOutcome.PAUSED and claim.token is None
    assert ledger.get("c1.1").state is MessageState.ACCEPTED
    assert store.window("c1") == ["c1.1"]  # the resume enqueues it again

    store.set_fields("c1", control=CANCEL)
    assert ledger.claim("c1.1").outcome is ClaimOutcome.CANCELLED
    assert ledger.abort("c1.1", "campaign cancelled")
    assert ledger.get("c1.1").state is MessageState.ABORTED

    store.set_fields("c1", control=RUN)
    ledger.create(record(2))
    assert ledger.claim("c1.2").outcome is ClaimOutcome.CLAIMED
    # A record of no campaign is not affected by any campaign's word.
    ledger.create(record(3, campaign=None))
    store.set_fields("c1", control=PAUSE)
    assert ledger.claim("m3").outcome is ClaimOutcome.CLAIMED


def test_every_move_is_counted_per_state(ledger: Ledger, store: CampaignStore) -> None:
    for row in (1, 2, 3):
        ledger.create(record(row))
    assert counts(store) == {"accepted": 3}
    one, two = ledger.claim("c1.1"), ledger.claim("c1.2")
    assert one.token and two.token
    assert counts(store) == {"accepted": 1, "sending": 2}
    ledger.release("c1.2", two.token, "429")
    ledger.mark_sent("c1.1", one.token, "REF1", next_poll_at=0)
    ledger.update_status("c1.1", MessageState.DELIVERED)
    ledger.update_status("c1.1", MessageState.READ)
    assert counts(store) == {"accepted": 2, "read": 1}
    # A second create of the same row is a no-op, and counts nothing.
    assert ledger.create(record(3)) == ("c1.3", False)
    assert counts(store) == {"accepted": 2, "read": 1}


def test_a_final_record_is_compact(
    ledger: Ledger, store: CampaignStore, redis_client: redis.Redis, keys: Keys
) -> None:
    for rec in (record(1), record(2, campaign=None)):
        ledger.create(rec)
        claim = ledger.claim(rec.id)
        assert claim.token and ledger.begin_hit(rec.id, claim.token, "nusasms")
        ledger.mark_sent(rec.id, claim.token, f"REF{rec.id}", next_poll_at=0)
    in_flight = redis_client.memory_usage(keys.message("c1.1"), samples=0)
    for message_id in ("c1.1", "m2"):
        ledger.update_status(message_id, MessageState.DELIVERED)

    done, plain = ledger.get("c1.1"), ledger.get("m2")
    # The claim's bookkeeping is gone from every final record; what it says stays.
    for final in (done, plain):
        assert final.token is None and final.holder is None and final.claimed_at is None
        assert final.hit_started and final.account == "nusasms" and final.ref_no
    # A campaign's record drops its payload too (its row keeps the text): a listpack.
    assert done.payload == {} and plain.payload["message"] == TEXT
    assert redis_client.object("encoding", keys.message("c1.1")) in ("listpack", "ziplist")
    compact = redis_client.memory_usage(keys.message("c1.1"), samples=0)
    assert compact < 700 < in_flight, (compact, in_flight)
    assert redis_client.ttl(keys.message("c1.1")) > 0  # the rewrite kept the retention
