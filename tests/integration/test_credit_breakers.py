"""Breakers and the circuit against a real Redis: atomic opening, closing, holding, resume."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis

from nusaworker.channels import of_api
from nusaworker.credit.alerts import Alert, Alerter, AlertKind
from nusaworker.credit.breakers import BreakerBoard, is_paused
from nusaworker.credit.circuit import Circuit
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.ledger.held import HoldOutcome
from nusaworker.providers.errors import AuthError, InsufficientCredit

pytestmark = pytest.mark.integration

JSON_API_CHANNELS = of_api("json")

ACCOUNT = "nusasms:0123456789abcdef"


class RecordingSink:
    name = "recording"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        with self._lock:
            self.alerts.append(alert)

    def kinds(self) -> list[AlertKind]:
        return [a.kind for a in self.alerts]


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def board(redis_client: redis.Redis, key_prefix: str) -> BreakerBoard:
    return BreakerBoard(redis_client, account=ACCOUNT, keys=Keys(prefix=key_prefix))


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def enqueued() -> list[str]:
    return []


@pytest.fixture
def circuit(
    board: BreakerBoard, ledger: Ledger, sink: RecordingSink, enqueued: list[str]
) -> Circuit:
    return Circuit(
        board,
        ledger,
        alerter=Alerter([sink]),
        enqueue=lambda record: enqueued.append(record.id),
        hold_s=600.0,
    )


def accept(ledger: Ledger, channel: str = "wa") -> str:
    payload = {"destination": "6281234567890", "message" if channel != "sms" else "text": "hi"}
    record = MessageRecord(channel=channel, destination="6281234567890", payload=payload)
    return ledger.create(record)[0]


def race(n: int, work: Callable[[], object]) -> list[object]:
    """Run ``work`` in ``n`` threads released at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_board_open_is_once_and_visible_to_is_paused(
    board: BreakerBoard, redis_client: redis.Redis, key_prefix: str
) -> None:
    assert not board.is_paused("wa")
    assert board.open(["wa", "wa_media"], "credit", error="InsufficientCredit: 402") == [
        "wa",
        "wa_media",
    ]
    assert board.open(["wa", "wa_media", "wa_official"], "credit") == ["wa_official"]
    assert board.is_paused("wa") and not board.is_paused("sms")
    assert is_paused(redis_client, Keys(prefix=key_prefix), ACCOUNT, "wa_media")
    state = board.state("wa")
    assert (state.open, state.reason, state.error) == (True, "credit", "InsufficientCredit: 402")
    assert state.since is not None
    assert not board.states()["sms"].open


def test_board_concurrent_opens_of_one_group_have_exactly_one_opener(board: BreakerBoard) -> None:
    results = race(8, lambda: board.open(list(JSON_API_CHANNELS), "auth"))
    openers = [r for r in results if r]
    assert openers == [list(JSON_API_CHANNELS)]


def test_board_close_only_for_the_given_reasons_and_only_once(board: BreakerBoard) -> None:
    board.open(["wa"], "credit")
    board.open(["sms"], "manual")
    assert board.close(["wa", "sms"], reasons=("auth", "credit"))[0].channel == "wa"
    assert board.is_paused("sms") and not board.is_paused("wa")
    assert board.close(["wa"]) == []
    board.open(["wa"], "auth")
    results = race(6, lambda: board.close(["wa", "sms"]))
    closed = [s.channel for r in results for s in r]  # type: ignore[attr-defined]
    assert sorted(closed) == ["sms", "wa"]


def test_board_probe_slot_is_taken_once_per_interval(board: BreakerBoard) -> None:
    results = race(5, lambda: board.try_probe_slot(30.0))
    assert results.count(True) == 1


def test_circuit_trip_from_many_workers_alerts_once(circuit: Circuit, sink: RecordingSink) -> None:
    error = InsufficientCredit("HTTP 402 insufficient credit: Insufficient WA balance")
    race(8, lambda: circuit.trip("wa", error))
    assert sink.kinds() == [AlertKind.BREAKER_OPENED]
    alert = sink.alerts[0]
    assert alert.details["channels"] == ["wa", "wa_media", "wa_official"]
    assert alert.details["reason"] == "credit" and alert.account == ACCOUNT
    # Another failure of an already paused group: no new alert.
    assert circuit.trip("wa_media", InsufficientCredit("402")) == []
    assert len(sink.alerts) == 1


def test_circuit_trip_of_sms_auth_pauses_the_sms_api_only(
    circuit: Circuit, board: BreakerBoard
) -> None:
    sms_api = ["sms", "sms_group"]
    assert circuit.trip("sms", AuthError("SMS status -40 IP_ADDRESS_FORBIDDEN")) == sms_api
    assert [c for c, s in board.states().items() if s.open] == sms_api


def test_hold_keeps_the_record_accepted_until_retry_at_and_only_while_paused(
    circuit: Circuit, ledger: Ledger, board: BreakerBoard
) -> None:
    mid = accept(ledger)
    assert circuit.hold(mid, "wa", "paused") is HoldOutcome.UNGUARDED  # the breaker is closed
    assert ledger.stuck_accepted(0, 10) == [mid]

    circuit.pause(["wa"])
    now = circuit.clock()
    assert circuit.hold(mid, "wa", "Paused: wa") is HoldOutcome.HELD
    record = ledger.get(mid)
    assert (record.state, record.attempts, record.error) == ("accepted", 0, "Paused: wa")
    retry_at = circuit.held.retry_at(mid)
    assert retry_at is not None and retry_at >= now + 600.0 - 1
    assert ledger.stuck_accepted(0, 10) == []  # the replay sweep leaves it alone
    assert board.held_count("wa") == 1

    claim = ledger.claim(mid)
    assert claim.token is not None
    assert circuit.hold(mid, "wa", "x") is HoldOutcome.NOT_ACCEPTED


def test_resume_requeues_held_records_and_alerts_once(
    circuit: Circuit, ledger: Ledger, sink: RecordingSink, enqueued: list[str], board: BreakerBoard
) -> None:
    circuit.trip("wa", InsufficientCredit("402"))
    ids = [accept(ledger) for _ in range(7)]
    for mid in ids:
        assert circuit.hold(mid, "wa", "paused") is HoldOutcome.HELD
    gone = ids[0]
    ledger.claim(gone)  # the replay sweep sent this one meanwhile: it must not be enqueued

    resumed = circuit.resume(["wa", "wa_media", "wa_official", "sms"], by="probe")

    assert resumed.channels == ["wa", "wa_media", "wa_official"]
    assert sorted(enqueued) == sorted(ids[1:]) and resumed.requeued == 6
    assert board.held_count("wa") == 0
    assert sink.kinds() == [AlertKind.BREAKER_OPENED, AlertKind.BREAKER_CLOSED]
    closed = sink.alerts[1]
    assert closed.details["requeued"] == 6 and closed.details["resumed_by"] == "probe"
    assert circuit.resume(["wa"]).closed == []  # nothing left to resume: no alert
    assert len(sink.alerts) == 2
    assert all(ledger.get(i).state is MessageState.ACCEPTED for i in ids[1:])


def test_requeue_puts_ids_back_when_the_broker_is_down(board: BreakerBoard, ledger: Ledger) -> None:
    calls: list[str] = []

    def broken(record: MessageRecord) -> None:
        calls.append(record.id)
        if len(calls) > 2:
            raise ConnectionError("broker down")

    circuit = Circuit(board, ledger, enqueue=broken)
    circuit.pause(["sms"])
    ids = [accept(ledger, "sms") for _ in range(5)]
    for mid in ids:
        circuit.hold(mid, "sms", "paused")
    board.close(["sms"])

    with pytest.raises(ConnectionError):
        circuit.requeue_held("sms")
    assert board.held_count("sms") == 3  # the two enqueued are out, the rest wait
    calls.clear()
    circuit.enqueue = lambda record: calls.append(record.id)
    assert circuit.sweep_held() == 3  # the beat sweep finishes the job
    assert board.held_count("sms") == 0
