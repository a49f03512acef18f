"""delivery.deliver with a circuit: paused channels hold, account errors trip. Real Redis.

The client is a scripted, client-shaped stand-in that goes through the gate like the real
one (so the ledger fence runs as in a worker), then answers as scripted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import redis

from nusaworker.credit.alerts import Alert, Alerter, AlertKind
from nusaworker.credit.breakers import BreakerBoard
from nusaworker.credit.circuit import Circuit
from nusaworker.delivery import deliver
from nusaworker.fencing import FencedGate
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.providers.errors import AuthError, InsufficientCredit
from nusaworker.providers.gate import NoopGate

pytestmark = pytest.mark.integration


@dataclass
class Sent:
    ref_no: str


class ScriptedClient:
    def __init__(self, outcome: BaseException | str) -> None:
        self.gate = FencedGate(NoopGate())
        self.outcome = outcome
        self.hits = 0

    def _hit(self, priority: str) -> Sent:
        self.gate.acquire("acct", priority=priority)  # type: ignore[arg-type]
        self.hits += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return Sent(self.outcome)

    def send_whatsapp(self, destination: str, message: str, *, priority: str, **_: Any) -> Sent:
        return self._hit(priority)

    def send_sms(self, destination: str, text: str, *, priority: str, **_: Any) -> Sent:
        return self._hit(priority)


class Sink:
    name = "recording"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def circuit(redis_client: redis.Redis, key_prefix: str, ledger: Ledger, sink: Sink) -> Circuit:
    board = BreakerBoard(redis_client, account="nusasms:test", keys=Keys(prefix=key_prefix))
    return Circuit(board, ledger, alerter=Alerter([sink]), enqueue=lambda r: None, hold_s=600)


def accept(ledger: Ledger, channel: str = "wa", priority: str = "normal") -> str:
    payload = {"destination": "6281234567890"}
    payload |= {"message": "hi"} if channel == "wa" else {"text": "hi"}
    record = MessageRecord(
        channel=channel, destination="6281234567890", priority=priority, payload=payload
    )
    return ledger.create(record)[0]


def run(ledger: Ledger, circuit: Circuit, mid: str, outcome: BaseException | str) -> Any:
    client = ScriptedClient(outcome)
    result = deliver(mid, ledger=ledger, client=client, circuit=circuit)  # type: ignore[arg-type]
    return result, client


def test_delivery_on_a_paused_channel_holds_without_claim_or_hit(
    ledger: Ledger, circuit: Circuit
) -> None:
    circuit.pause(["wa"])
    mid = accept(ledger)
    outcome, client = run(ledger, circuit, mid, "REF-1")
    record = ledger.get(mid)
    assert (outcome.state, outcome.held, outcome.retry_at) == ("accepted", True, None)
    assert (client.hits, record.state, record.attempts) == (0, "accepted", 0)
    assert circuit.board.held_count("wa") == 1


def test_delivery_other_channels_still_send_while_one_is_paused(
    ledger: Ledger, circuit: Circuit
) -> None:
    circuit.pause(["wa"])
    mid = accept(ledger, channel="sms")
    outcome, client = run(ledger, circuit, mid, "SMS-1")
    assert (outcome.state, client.hits, ledger.get(mid).ref_no) == ("sent", 1, "SMS-1")


@pytest.mark.parametrize(
    ("channel", "error", "paused"),
    [
        ("wa", InsufficientCredit("HTTP 402"), {"wa", "wa_media", "wa_official"}),
        ("wa", AuthError("HTTP 401 authentication failed"),
         {"wa", "wa_media", "wa_official", "wa_official_reply", "check"}),
        ("sms", InsufficientCredit("SMS status -2 NOT_ENOUGH_CREDITS"), {"sms", "sms_group"}),
        ("sms", AuthError("SMS status -5 AUTHENTICATION_FAILED"), {"sms", "sms_group"}),
    ],
)  # fmt: skip
def test_delivery_account_error_opens_the_breaker_and_holds_the_message(
    ledger: Ledger,
    circuit: Circuit,
    sink: Sink,
    channel: str,
    error: Exception,
    paused: set[str],
) -> None:
    mid = accept(ledger, channel=channel)
    outcome, client = run(ledger, circuit, mid, error)
    record = ledger.get(mid)
    assert client.hits == 1
    assert (outcome.state, outcome.held, outcome.retry_at) == ("accepted", True, None)
    assert record.state == "accepted" and type(error).__name__ in (record.error or "")
    assert {c for c, s in circuit.board.states().items() if s.open} == paused
    assert circuit.board.held_count(channel) == 1
    assert [a.kind for a in sink.alerts] == [AlertKind.BREAKER_OPENED]

    # The next message of the channel never reaches the provider, and no second alert.
    second = accept(ledger, channel=channel)
    outcome2, client2 = run(ledger, circuit, second, "REF-never")
    assert (outcome2.held, client2.hits) == (True, 0)
    assert len(sink.alerts) == 1


def test_delivery_sends_when_the_channel_resumed_between_check_and_hold(
    ledger: Ledger, circuit: Circuit
) -> None:
    mid = accept(ledger)
    circuit.pause(["wa"])

    class ResumingCircuit(Circuit):
        def is_paused(self, channel: str) -> bool:
            paused = super().is_paused(channel)
            self.board.close([channel])  # resumed right after the check
            return paused

    racing = ResumingCircuit(circuit.board, ledger, enqueue=lambda r: None)
    outcome, client = run(ledger, racing, mid, "REF-7")
    assert (outcome.state, client.hits, ledger.get(mid).ref_no) == ("sent", 1, "REF-7")


def test_delivery_redelivered_task_of_a_paused_channel_releases_and_holds(
    ledger: Ledger, circuit: Circuit
) -> None:
    mid = accept(ledger)
    first = ledger.claim(mid)  # the first worker claimed it and died before its slot
    assert first.token is not None
    circuit.pause(["wa"])
    outcome, client = run(ledger, circuit, mid, "REF-8")
    record = ledger.get(mid)
    assert (outcome.held, client.hits, record.state) == (True, 0, "accepted")
    assert not ledger.begin_hit(mid, first.token)  # the first worker is fenced out
    assert circuit.board.held_count("wa") == 1


def test_delivery_without_a_circuit_keeps_retrying_account_errors(ledger: Ledger) -> None:
    mid = accept(ledger)
    client = ScriptedClient(InsufficientCredit("402"))
    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]
    assert (outcome.state, outcome.held) == ("accepted", False)
    assert outcome.retry_at is not None  # within the budget: scheduled in the ledger
    assert ledger.due_retries(outcome.retry_at, 10) == [mid]


def test_delivery_holds_the_message_before_the_alert_goes_out(
    ledger: Ledger, redis_client: redis.Redis, key_prefix: str
) -> None:
    seen: list[tuple[str, int]] = []
    board = BreakerBoard(redis_client, account="nusasms:test", keys=Keys(prefix=key_prefix))
    mid = accept(ledger)

    class Inspecting:
        name = "inspecting"

        def send(self, alert: Alert) -> None:  # a slow sink: what is safe by now?
            seen.append((str(ledger.get(mid).state), board.held_count("wa")))

    circuit = Circuit(board, ledger, alerter=Alerter([Inspecting()]), enqueue=lambda r: None)
    outcome, _ = run(ledger, circuit, mid, InsufficientCredit("HTTP 402"))
    assert outcome.held and seen == [("accepted", 1)]
