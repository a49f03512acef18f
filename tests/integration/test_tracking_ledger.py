"""The ledger's tracking side against a real Redis: OTP poll index, the events stream,
parked status updates, verbatim provider codes."""

from __future__ import annotations

import threading

import pytest
import redis

from nusaworker.keys import PARKED_TTL_S, Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState, StatusUpdate
from nusaworker.testing.clock import FakeClock
from nusaworker.tracking.events import EventStream

pytestmark = pytest.mark.integration

S = MessageState


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str, clock: FakeClock) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix), clock=clock)


def _sending(ledger: Ledger, *, priority: str = "normal", channel: str = "wa") -> tuple[str, str]:
    record = MessageRecord(channel=channel, destination="628123", priority=priority)
    message_id, _ = ledger.create(record)
    claim = ledger.claim(message_id)
    assert claim.token is not None
    assert ledger.begin_hit(message_id, claim.token)
    return message_id, claim.token


def _sent(ledger: Ledger, ref_no: str, *, priority: str = "normal", at: float = 5.0) -> str:
    message_id, token = _sending(ledger, priority=priority)
    assert ledger.mark_sent(message_id, token, ref_no, next_poll_at=at)
    return message_id


def test_ledger_sent_otp_records_are_also_on_the_otp_index(ledger: Ledger) -> None:
    otp = _sent(ledger, "R-OTP", priority="otp", at=10.0)
    normal = _sent(ledger, "R-N", at=5.0)

    assert ledger.due_for_poll(100.0, 10) == [normal, otp]
    assert ledger.due_for_poll(100.0, 10, otp_only=True) == [otp]


def test_ledger_reschedule_and_final_move_keep_the_otp_index_exact(ledger: Ledger) -> None:
    otp = _sent(ledger, "R-OTP", priority="otp", at=10.0)

    assert ledger.reschedule_poll(otp, 50.0)
    assert ledger.due_for_poll(20.0, 10, otp_only=True) == []
    assert ledger.due_for_poll(60.0, 10, otp_only=True) == [otp]
    assert ledger.update_status(otp, S.DELIVERED)
    assert ledger.due_for_poll(1e12, 10, otp_only=True) == []
    assert not ledger.reschedule_poll(otp, 70.0)


def test_ledger_due_for_poll_pages_with_an_offset(ledger: Ledger) -> None:
    ids = [_sent(ledger, f"R{i}", at=float(i)) for i in range(5)]

    assert ledger.due_for_poll(100.0, 2, offset=2) == ids[2:4]


def test_ledger_appends_every_move_to_the_events_stream(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id = _sent(ledger, "R-EV", priority="otp")
    ledger.update_status(message_id, S.DELIVERED, provider_status="D")
    ledger.update_status(message_id, S.READ, provider_status="R")

    events = EventStream(redis_client, keys=ledger.keys).entries()

    assert [(e["state"], e["previous"]) for e in events] == [
        ("sent", "sending"),
        ("delivered", "sent"),
        ("read", "delivered"),
    ]
    assert {e["message_id"] for e in events} == {message_id}
    assert events[-1]["provider_status"] == "R"
    assert events[-1]["priority"] == "otp"
    assert events[-1]["ref_no"] == "R-EV"
    assert events[-1]["at"] == 1_700_000_000.0


def test_ledger_no_event_for_a_refused_move_or_a_release(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id, token = _sending(ledger)
    ledger.release(message_id, token, "429")
    other = _sent(ledger, "R-X")
    ledger.update_status(other, S.READ)

    assert not ledger.update_status(other, S.DELIVERED)  # backwards: refused, no event
    states = [e["state"] for e in EventStream(redis_client, keys=ledger.keys).entries()]
    assert states == ["sent", "read"]


def test_ledger_events_can_be_switched_off(redis_client: redis.Redis, key_prefix: str) -> None:
    quiet = Ledger(redis_client, keys=Keys(prefix=key_prefix), events_maxlen=0)
    _sent(quiet, "R-Q")

    assert redis_client.exists(quiet.keys.events) == 0


def test_ledger_park_status_applies_at_once_when_the_ref_is_known(ledger: Ledger) -> None:
    message_id = _sent(ledger, "R-KNOWN")

    applied_to = ledger.park_status("R-KNOWN", StatusUpdate(S.DELIVERED, provider_status="D"))

    assert applied_to == message_id
    assert ledger.get(message_id).state is S.DELIVERED
    assert ledger.parked.count() == 0


def test_ledger_parked_update_is_applied_by_mark_sent(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    message_id, token = _sending(ledger)

    assert ledger.park_status("R-EARLY", StatusUpdate(S.READ, provider_status="R")) is None
    assert ledger.parked.count() == 1
    assert 0 < redis_client.ttl(ledger.keys.parked("R-EARLY")) <= PARKED_TTL_S

    assert ledger.mark_sent(message_id, token, "R-EARLY", next_poll_at=5.0)

    record = ledger.get(message_id)
    assert record.state is S.READ
    assert record.provider_status == "R"
    assert ledger.parked.count() == 0
    assert redis_client.exists(ledger.keys.parked("R-EARLY")) == 0
    assert ledger.due_for_poll(1e12, 10) == []


def test_ledger_parked_updates_out_of_order_end_in_the_furthest_state(ledger: Ledger) -> None:
    message_id, token = _sending(ledger)
    for code, state in (("R", S.READ), ("D", S.DELIVERED), ("D", S.DELIVERED)):
        ledger.park_status("R-OOO", StatusUpdate(state, provider_status=code))

    ledger.mark_sent(message_id, token, "R-OOO", next_poll_at=5.0)

    assert ledger.get(message_id).state is S.READ
    assert ledger.get(message_id).provider_status == "R"


def test_ledger_park_and_mark_sent_racing_never_lose_the_update(
    redis_url: str, key_prefix: str
) -> None:
    """Many rounds of a push and the send's mark_sent at the same moment, on two clients."""
    keys = Keys(prefix=key_prefix)
    pusher = Ledger(redis.Redis.from_url(redis_url), keys=keys)
    sender = Ledger(redis.Redis.from_url(redis_url), keys=keys)
    rounds = 60
    ids = []
    for i in range(rounds):
        message_id, token = _sending(sender)
        barrier = threading.Barrier(2)
        ref_no = f"R-RACE-{i}"

        def push(ref_no: str = ref_no, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            pusher.park_status(ref_no, StatusUpdate(S.DELIVERED, provider_status="D"))

        thread = threading.Thread(target=push)
        thread.start()
        barrier.wait()
        sender.mark_sent(message_id, token, ref_no, next_poll_at=5.0)
        thread.join()
        ids.append(message_id)

    assert sender.counts_by_state(ids) == {S.DELIVERED: rounds}


def test_ledger_note_provider_status_writes_only_while_the_state_holds(ledger: Ledger) -> None:
    message_id = _sent(ledger, "R-NOTE")

    assert ledger.note_provider_status(message_id, "WEIRD", state=S.SENT)
    assert ledger.get(message_id).provider_status == "WEIRD"
    ledger.update_status(message_id, S.DELIVERED, provider_status="D")
    assert not ledger.note_provider_status(message_id, "S", state=S.SENT)
    assert ledger.get(message_id).provider_status == "D"


def test_ledger_parked_forget_expired_drops_only_vanished_lists(
    ledger: Ledger, clock: FakeClock, redis_client: redis.Redis
) -> None:
    ledger.park_status("R-GONE", StatusUpdate(S.DELIVERED))
    ledger.park_status("R-LIVE", StatusUpdate(S.DELIVERED))
    redis_client.delete(ledger.keys.parked("R-GONE"))  # as Redis does when the TTL runs out
    clock.now += PARKED_TTL_S + 1

    assert ledger.parked.forget_expired() == 1
    assert ledger.parked.refs(10) == ["R-LIVE"]
