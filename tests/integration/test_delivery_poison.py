"""Poison work: delivery.deliver against a real ledger in Redis, with records and clients that
fail in ways nobody handled. Each one ends final with its reason, and deliver returns."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from nusaworker.delivery import deliver
from nusaworker.errors import GateUnavailable
from nusaworker.fencing import FencedGate
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.gate import NoopGate

pytestmark = pytest.mark.integration

NUMBER = "6281234567890"


@dataclass
class Sent:
    ref_no: str


class BrokenClient:
    """Takes its slot (so the ledger fence runs, as in a worker) and then, or before it,
    raises something nobody foresaw."""

    def __init__(self, gate: Any, exc: BaseException, *, after_hit: bool) -> None:
        self.gate = gate
        self.exc = exc
        self.after_hit = after_hit
        self.hits = 0

    def send_whatsapp(self, destination: str, message: str, *, priority: str, **_: Any) -> Sent:
        if not self.after_hit:
            raise self.exc
        self.gate.acquire("acct", priority=priority)
        self.hits += 1
        raise self.exc


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


def accept(ledger: Ledger, channel: str = "wa", payload: dict[str, Any] | None = None) -> str:
    fields = {"destination": NUMBER, "message": "hi"} if payload is None else payload
    return ledger.create(MessageRecord(channel=channel, destination=NUMBER, payload=fields))[0]


def broken(exc: BaseException, *, after_hit: bool) -> BrokenClient:
    return BrokenClient(FencedGate(NoopGate()), exc, after_hit=after_hit)


def indexed(redis_client: redis.Redis, ledger: Ledger, message_id: str) -> dict[str, bool]:
    keys = ledger.keys
    return {
        "accepted": redis_client.zscore(keys.accepted_index, message_id) is not None,
        "lease": bool(redis_client.hexists(keys.lease_index, message_id)),
    }


def test_poison_a_record_whose_payload_is_not_json_ends_rejected(
    ledger: Ledger, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    mid = accept(ledger)
    redis_client.hset(ledger.keys.message(mid), "payload", '{"destination": "62812')  # cut
    client = broken(AssertionError("never called"), after_hit=True)

    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    assert outcome.state is MessageState.REJECTED
    fields = ledger.fields(mid, "state", "error")
    assert fields["state"] == "rejected"
    assert fields["error"] == (
        f"CorruptRecord: message record '{mid}' cannot be read: payload: not JSON"
    )
    assert client.hits == 0
    assert indexed(redis_client, ledger, mid) == {"accepted": False, "lease": False}


def test_poison_a_record_whose_field_does_not_validate_names_the_field_not_its_value(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    mid = accept(ledger)
    redis_client.hset(ledger.keys.message(mid), mapping={"priority": "urgent!!", "attempts": "x"})

    outcome = deliver(mid, ledger=ledger, client=broken(KeyError("x"), after_hit=True))  # type: ignore[arg-type]

    assert outcome.state is MessageState.REJECTED
    error = ledger.fields(mid, "error")["error"] or ""
    assert "priority" in error and "attempts" in error
    assert "urgent!!" not in error  # a field's value is the user's data: never in the reason


def test_poison_an_unknown_channel_ends_rejected_without_a_hit(ledger: Ledger) -> None:
    mid = accept(ledger, channel="fax")
    client = broken(AssertionError("never called"), after_hit=True)

    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    assert outcome.state is MessageState.REJECTED
    assert "unknown channel 'fax'" in (ledger.get(mid).error or "")
    assert client.hits == 0


def test_poison_a_payload_that_lost_a_field_ends_rejected_naming_the_field(
    ledger: Ledger, sandbox: Any
) -> None:
    mid = accept(ledger, payload={"destination": NUMBER})  # no "message"
    with NusaSMSClient(base_url=sandbox.url, api_key="test-key") as client:
        outcome = deliver(mid, ledger=ledger, client=client)

    assert outcome.state is MessageState.REJECTED
    assert "message" in (ledger.get(mid).error or "")
    assert sandbox.hits() == []


def test_poison_a_type_error_from_a_payload_that_no_longer_validates_is_a_rejection(
    ledger: Ledger,
) -> None:
    # The client call itself trips over the payload (a TypeError, not a ValidationError): the
    # payload is looked at, found invalid, and the record rejected rather than failed.
    mid = accept(ledger, payload={"destination": NUMBER})
    client = broken(TypeError("missing 1 required positional argument: 'message'"), after_hit=False)

    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    assert outcome.state is MessageState.REJECTED
    assert ledger.get(mid).error == "InvalidPayload: message: Field required"


def test_poison_a_bug_before_the_hit_ends_failed_and_is_never_retried(
    ledger: Ledger, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    mid = accept(ledger)
    client = broken(ZeroDivisionError("division by zero"), after_hit=False)

    with caplog.at_level(logging.ERROR, logger="nusaworker.delivery"):
        outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    record = ledger.get(mid)
    assert (outcome.state, record.state) == (MessageState.FAILED, MessageState.FAILED)
    assert record.error == "Unexpected ZeroDivisionError: division by zero"
    assert client.hits == 0
    assert indexed(redis_client, ledger, mid) == {"accepted": False, "lease": False}
    assert redis_client.zscore(ledger.keys.retry_index, mid) is None
    assert any(r.exc_info for r in caplog.records)  # a bug gets its traceback in the log


def test_poison_a_bug_after_the_hit_began_ends_unknown_never_resent(ledger: Ledger) -> None:
    mid = accept(ledger)
    client = broken(RuntimeError("parser slipped"), after_hit=True)

    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    record = ledger.get(mid)
    assert (outcome.state, record.state, client.hits) == (MessageState.UNKNOWN,) * 2 + (1,)
    assert record.error == "Unexpected RuntimeError: parser slipped"
    # A second task for it (a redelivery) finds it final: no second hit.
    again = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]
    assert again.state is MessageState.UNKNOWN and client.hits == 1


def test_poison_leaves_a_record_another_worker_is_sending(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    mid = accept(ledger)
    claim = ledger.claim(mid, holder="other-worker")
    assert claim.token is not None
    redis_client.hset(ledger.keys.message(mid), "payload", "not json")

    outcome = deliver(mid, ledger=ledger, client=broken(KeyError("x"), after_hit=True))  # type: ignore[arg-type]

    assert outcome.state is MessageState.SENDING  # not ours to end
    assert ledger.fields(mid, "state", "token") == {"state": "sending", "token": claim.token}


class DownRoutes:
    """Routes whose health lookup finds the pacing gate out of reach (before any claim)."""

    def via(self, channel: str, priority: str, pinned: str | None = None) -> Any:
        raise GateUnavailable("redis down")


def test_poison_a_retryable_error_before_the_claim_is_not_poison(ledger: Ledger) -> None:
    # A later try may pass: the task fails as before, the record stays accepted for the replay.
    mid = accept(ledger)
    with pytest.raises(GateUnavailable):
        deliver(mid, ledger=ledger, client=None, routes=DownRoutes())  # type: ignore[arg-type]
    assert ledger.fields(mid, "state", "error") == {"state": "accepted", "error": None}


def test_poison_a_key_of_the_wrong_type_ends_the_task_and_touches_nothing(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    key = ledger.keys.message("m-wrongtype")
    redis_client.set(key, "not a hash")

    outcome = deliver("m-wrongtype", ledger=ledger, client=broken(KeyError("x"), after_hit=True))  # type: ignore[arg-type]

    assert outcome.state is None  # Redis refuses to read it: it is left, the task returns
    assert "WRONGTYPE" in (outcome.error or "")
    assert redis_client.get(key) == "not a hash"
