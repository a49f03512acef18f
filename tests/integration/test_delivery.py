"""delivery.deliver against a real ledger in Redis, with a scripted stand-in for the client.

The stand-in is not a mock of HTTP or Redis: it is a client-shaped object that goes through the
same gate (so the ledger fence runs exactly as in a worker) and then answers as scripted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import redis

from nusaworker.delivery import deliver
from nusaworker.errors import GateUnavailable
from nusaworker.fencing import FencedGate
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.providers.errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    RateLimited,
    TransientError,
)
from nusaworker.providers.gate import NoopGate

pytestmark = pytest.mark.integration


@dataclass
class Sent:
    ref_no: str


class ScriptedClient:
    """Takes a slot from its gate like the real client, then answers ``outcome``."""

    def __init__(self, gate: Any, outcome: BaseException | str) -> None:
        self.gate = gate
        self.outcome = outcome
        self.hits = 0

    def _hit(self, priority: str) -> Sent:
        self.gate.acquire("acct", priority=priority)
        self.hits += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return Sent(self.outcome)

    def send_whatsapp(self, destination: str, message: str, *, priority: str, **_: Any) -> Sent:
        return self._hit(priority)

    def send_sms(self, destination: str, text: str, *, priority: str, **_: Any) -> Sent:
        return self._hit(priority)


class FailingGate(NoopGate):
    def acquire(self, account: str, **kwargs: Any) -> None:
        raise GateUnavailable("redis down")


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


def accept(ledger: Ledger, priority: str = "normal", channel: str = "wa") -> str:
    payload = {"destination": "6281234567890"}
    payload |= {"message": "hi"} if channel == "wa" else {"text": "hi"}
    record = MessageRecord(
        channel=channel, destination="6281234567890", priority=priority, payload=payload
    )
    return ledger.create(record)[0]


def run(ledger: Ledger, message_id: str, outcome: BaseException | str, **kw: Any) -> Any:
    client = ScriptedClient(FencedGate(NoopGate()), outcome)
    result = deliver(message_id, ledger=ledger, client=client, **kw)  # type: ignore[arg-type]
    return result, client


def test_delivery_success_records_sent_with_ref_no(ledger: Ledger) -> None:
    mid = accept(ledger)
    outcome, client = run(ledger, mid, "REF-1")
    record = ledger.get(mid)
    assert (outcome.state, record.state, record.ref_no, client.hits) == ("sent", "sent", "REF-1", 1)
    assert record.hit_started and ledger.id_for_ref("REF-1") == mid


@pytest.mark.parametrize(
    ("error", "state", "retry"),
    [
        (PermanentError("SMS status -13 INVALID_DESTINATION_ADDRESS"), "rejected", False),
        (AmbiguousOutcome("connection dropped after the request was written"), "unknown", False),
        (TransientError("HTTP 503"), "accepted", True),
        (RateLimited("HTTP 429", retry_after=1.0), "accepted", True),
        (AuthError("HTTP 401"), "accepted", True),
        (InsufficientCredit("HTTP 402"), "accepted", True),
    ],
)
def test_delivery_maps_each_error_class_to_one_outcome(
    ledger: Ledger, error: BaseException, state: str, retry: bool
) -> None:
    mid = accept(ledger)
    outcome, _ = run(ledger, mid, error)
    record = ledger.get(mid)
    assert record.state == outcome.state == state
    assert (outcome.retry_at is not None) is retry
    assert record.error is not None and type(error).__name__ in record.error


def test_delivery_gate_unavailable_makes_no_hit_and_keeps_the_message(ledger: Ledger) -> None:
    mid = accept(ledger)
    client = ScriptedClient(FencedGate(FailingGate()), "never")
    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]
    assert client.hits == 0
    assert outcome.retry_at is not None
    assert ledger.get(mid).state == "accepted"
    assert not ledger.get(mid).hit_started


def test_delivery_does_nothing_for_a_message_already_sent(ledger: Ledger) -> None:
    mid = accept(ledger)
    run(ledger, mid, "REF-1")
    outcome, client = run(ledger, mid, "REF-2")
    assert client.hits == 0
    assert outcome.state == "sent" and ledger.get(mid).ref_no == "REF-1"


def test_delivery_takes_over_a_message_whose_first_worker_died_at_the_gate(ledger: Ledger) -> None:
    mid = accept(ledger)
    first = ledger.claim(mid)  # the first worker claimed, then died before its slot was granted
    outcome, client = run(ledger, mid, "REF-9")
    assert outcome.state == "sent" and client.hits == 1
    assert first.token is not None and not ledger.begin_hit(mid, first.token)  # fenced out


@pytest.mark.parametrize(
    ("priority", "resend"), [("normal", False), ("bulk", False), ("otp", True)]
)
def test_delivery_in_doubt_resends_only_otp(ledger: Ledger, priority: str, resend: bool) -> None:
    mid = accept(ledger, priority=priority, channel="sms")
    first = ledger.claim(mid)
    assert first.token is not None and ledger.begin_hit(mid, first.token)  # died mid-hit
    outcome, client = run(ledger, mid, "REF-2", otp_resend_in_doubt=True)
    assert client.hits == (1 if resend else 0)
    assert ledger.get(mid).state == ("sent" if resend else "unknown")
    assert outcome.state == ledger.get(mid).state


def test_delivery_in_doubt_otp_not_resent_when_policy_is_off(ledger: Ledger) -> None:
    mid = accept(ledger, priority="otp", channel="sms")
    first = ledger.claim(mid)
    assert first.token is not None and ledger.begin_hit(mid, first.token)
    outcome, client = run(ledger, mid, "REF-2", otp_resend_in_doubt=False)
    assert client.hits == 0 and outcome.state == "unknown"


class SlowClient(ScriptedClient):
    """The first worker: while its hit is on the wire, its task is redelivered elsewhere."""

    def __init__(self, gate: Any, outcome: BaseException, meanwhile: Any) -> None:
        super().__init__(gate, outcome)
        self.meanwhile = meanwhile

    def _hit(self, priority: str) -> Sent:
        self.gate.acquire("acct", priority=priority)
        self.hits += 1
        self.meanwhile()
        raise self.outcome  # type: ignore[misc]


def test_delivery_slow_worker_whose_message_went_in_doubt_does_not_retry_it(
    ledger: Ledger,
) -> None:
    mid = accept(ledger, priority="normal")

    def redelivered() -> None:  # the second worker finds the hit started and marks it in doubt
        second, _ = run(ledger, mid, "never")
        assert second.state == "unknown"

    client = SlowClient(FencedGate(NoopGate()), TransientError("HTTP 503"), redelivered)
    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]
    assert client.hits == 1
    assert outcome.state == ledger.get(mid).state == "unknown"
    assert outcome.retry_at is None  # a settled record is not sent again


def test_delivery_hit_refused_by_the_provider_is_not_in_doubt_while_the_client_waits(
    ledger: Ledger, make_sandbox: Any
) -> None:
    from nusaworker.providers import NusaSMSClient
    from nusaworker.sandbox import FaultProfile

    box = make_sandbox(faults=FaultProfile(p_5xx=1.0))
    mid = accept(ledger)
    seen_during_waits: list[bool] = []

    def sleep(_seconds: float) -> None:
        # A worker killed now must leave a message to send again, not one in doubt.
        seen_during_waits.append(ledger.get(mid).hit_started)

    with NusaSMSClient(
        base_url=box.url, api_key="test-key", gate=FencedGate(NoopGate()), sleep=sleep
    ) as client:
        outcome = deliver(mid, ledger=ledger, client=client)
    assert seen_during_waits and not any(seen_during_waits)
    assert len(box.hits(kind="send")) == len(seen_during_waits) + 1  # every hit answered 503
    assert outcome.state == "accepted" and outcome.retry_at is not None


def test_ledger_hit_refused_is_fenced_by_the_token(ledger: Ledger) -> None:
    mid = accept(ledger)
    claim = ledger.claim(mid)
    assert claim.token is not None and ledger.begin_hit(mid, claim.token)
    assert not ledger.hit_refused(mid, "someone-else")
    assert ledger.get(mid).hit_started
    assert ledger.hit_refused(mid, claim.token)
    assert not ledger.get(mid).hit_started
