"""Status polls against the sandbox over real HTTP, with a real Redis ledger, gate and budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageState
from nusaworker.pacing import RedisGate
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.errors import TransientError
from nusaworker.testing.records import sent_record
from nusaworker.tracking.budget import PollBudget, PollGate
from nusaworker.tracking.errors import PollBudgetTimeout
from nusaworker.tracking.poller import Poller

pytestmark = pytest.mark.integration

S = MessageState
HORIZON_S = 3600.0


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def poller(ledger: Ledger) -> Poller:
    return Poller(ledger, horizon_s=HORIZON_S, lease_s=60.0)


def _client(box: Any, redis_url: str, ledger: Ledger, rate: float = 50.0) -> NusaSMSClient:
    gate = RedisGate(redis_url, keys=ledger.keys)
    budget = PollBudget(ledger.redis, rate=rate, keys=ledger.keys)
    return NusaSMSClient(
        base_url=box.url,
        api_key="test-key",
        sms_user="user",
        sms_password="pass",
        gate=PollGate(gate, budget),
        max_attempts=1,
    )


def _sent(
    ledger: Ledger,
    ref_no: str | None,
    *,
    channel: str = "wa",
    priority: str = "normal",
    next_poll_at: float = 0.0,
) -> str:
    return sent_record(
        ledger, ref_no, channel=channel, priority=priority, next_poll_at=next_poll_at
    )


def test_poller_poll_records_a_final_whatsapp_status(
    make_sandbox: Callable[..., Any], redis_url: str, ledger: Ledger, poller: Poller
) -> None:
    box = make_sandbox(status_step_s=0.0, fail_rate=0.0)
    client = _client(box, redis_url, ledger)
    ref = client.send_whatsapp("6281200000001", "hi").ref_no
    message_id = _sent(ledger, ref)

    outcome = poller.poll(message_id, client)

    record = ledger.get(message_id)
    assert (outcome.result, outcome.state) == ("final", S.READ)
    assert record.state is S.READ
    assert record.provider_status == "R"
    assert record.final_at is not None
    assert ledger.due_for_poll(time.time() + 1e6, 10) == []
    assert len(box.hits(kind="read")) == 1


def test_poller_poll_reads_the_sms_delivery_report(
    make_sandbox: Callable[..., Any], redis_url: str, ledger: Ledger, poller: Poller
) -> None:
    box = make_sandbox(status_step_s=0.0, fail_rate=0.0)
    client = _client(box, redis_url, ledger)
    ref = client.send_sms("6281300000001", "hello").ref_no
    message_id = _sent(ledger, ref, channel="sms")

    outcome = poller.poll(message_id, client)

    assert outcome.result == "final"
    assert ledger.get(message_id).state is S.DELIVERED
    assert ledger.get(message_id).provider_status == "DELIVERED"


def test_poller_poll_of_a_pending_message_keeps_the_code_and_backs_off(
    make_sandbox: Callable[..., Any], redis_url: str, ledger: Ledger, poller: Poller
) -> None:
    box = make_sandbox(status_step_s=600.0, fail_rate=0.0)
    client = _client(box, redis_url, ledger)
    ref = client.send_whatsapp("6281200000002", "hi").ref_no
    message_id = _sent(ledger, ref)
    before = time.time()

    outcome = poller.poll(message_id, client)

    record = ledger.get(message_id)
    assert outcome.result == "pending"
    assert record.state is S.SENT
    assert record.provider_status == "Q"
    next_poll = ledger.redis.zscore(ledger.keys.sent_index, message_id)
    assert next_poll is not None
    assert before + 4 <= next_poll <= time.time() + 5.5


def test_poller_poll_failure_is_retried_later_not_raised(
    make_sandbox: Callable[..., Any], redis_url: str, ledger: Ledger, poller: Poller
) -> None:
    box = make_sandbox()
    client = _client(box, redis_url, ledger)
    message_id = _sent(ledger, "NS-NOT-AT-THE-PROVIDER")

    outcome = poller.poll(message_id, client)

    assert outcome.result == "failed"
    assert ledger.get(message_id).state is S.SENT
    assert ledger.due_for_poll(time.time() + 10, 10) == [message_id]


def test_poller_poll_skips_a_record_a_callback_already_finished(
    make_sandbox: Callable[..., Any], redis_url: str, ledger: Ledger, poller: Poller
) -> None:
    box = make_sandbox()
    client = _client(box, redis_url, ledger)
    message_id = _sent(ledger, "NS-DONE")
    ledger.update_status(message_id, S.READ, provider_status="R")

    assert poller.poll(message_id, client).result == "skipped"
    assert box.hits(kind="read") == []


@dataclass
class Answer:
    status: str | None
    read_date: Any = None
    delivered_date: Any = None


class ScriptedStatusClient:
    """A client-shaped stand-in answering a fixed WhatsApp status (or raising)."""

    def __init__(self, answer: str | BaseException) -> None:
        self.answer = answer
        self.calls = 0

    def get_whatsapp_status(self, ref_no: str, *, priority: str) -> Answer:
        self.calls += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        return Answer(self.answer)


def test_poller_unknown_provider_code_is_kept_verbatim_and_logged(
    ledger: Ledger, poller: Poller, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = _sent(ledger, "NS-ODD")

    outcome = poller.poll(message_id, ScriptedStatusClient("WAITING_FOR_GODOT"))  # type: ignore[arg-type]

    assert outcome.result == "pending"
    assert ledger.get(message_id).provider_status == "WAITING_FOR_GODOT"
    assert ledger.get(message_id).state is S.SENT
    assert "WAITING_FOR_GODOT" in caplog.text


def test_poller_transient_error_reschedules(ledger: Ledger, poller: Poller) -> None:
    message_id = _sent(ledger, "NS-5XX")

    client = ScriptedStatusClient(TransientError("HTTP 503"))
    outcome = poller.poll(message_id, client)  # type: ignore[arg-type]

    assert outcome.result == "failed"
    assert client.calls == 1
    assert ledger.get(message_id).state is S.SENT


def test_poller_pending_answer_at_the_horizon_expires_the_record(ledger: Ledger) -> None:
    poller = Poller(ledger, horizon_s=60.0, lease_s=10.0, clock=lambda: time.time() + 61)
    message_id = _sent(ledger, "NS-LATE")

    outcome = poller.poll(message_id, ScriptedStatusClient("S"))  # type: ignore[arg-type]

    assert outcome.result == "expired"
    record = ledger.get(message_id)
    assert record.state is S.EXPIRED
    assert record.error is not None
    assert "horizon" in record.error


def test_poller_dispatch_hands_out_otp_polls_first_within_the_quota(
    ledger: Ledger, poller: Poller
) -> None:
    normal = [_sent(ledger, f"NS-N{i}", next_poll_at=float(i)) for i in range(3)]
    otp = _sent(ledger, "NS-OTP", priority="otp", next_poll_at=100.0)
    enqueued: list[tuple[str, str]] = []

    report = poller.dispatch(
        2, lambda message_id, priority: enqueued.append((message_id, priority))
    )

    assert enqueued == [(otp, "otp"), (normal[0], "normal")]
    assert report.dispatched == [otp, normal[0]]
    now = time.time()
    # Leased: not handed out again by the next run, due again once the lease is over.
    assert ledger.due_for_poll(now, 10) == normal[1:]
    assert set(ledger.due_for_poll(now + 61, 10)) == {*normal, otp}


def test_poller_dispatch_expires_and_parks_without_spending_the_quota(ledger: Ledger) -> None:
    now = time.time()
    poller = Poller(ledger, horizon_s=HORIZON_S, lease_s=60.0)
    official = _sent(ledger, "OFF-1", channel="wa_official")
    no_ref = _sent(ledger, None, channel="check")
    pollable = _sent(ledger, "NS-OK")
    old = _sent(ledger, "NS-OLD")
    ledger.redis.hset(ledger.keys.message(old), "sent_at", repr(now - HORIZON_S - 1))
    enqueued: list[str] = []

    report = poller.dispatch(1, lambda message_id, priority: enqueued.append(message_id))

    assert enqueued == [pollable]
    assert (report.expired, report.unpollable) == (1, 2)
    assert ledger.get(old).state is S.EXPIRED
    for unpollable in (official, no_ref):
        at = ledger.redis.zscore(ledger.keys.sent_index, unpollable)
        assert at is not None
        assert at == pytest.approx(ledger.get(unpollable).sent_at + HORIZON_S)  # type: ignore[operator]


def test_poll_budget_caps_the_rate_across_threads(ledger: Ledger) -> None:
    budget = PollBudget(ledger.redis, rate=10.0, keys=ledger.keys)
    taken: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 1.0

    def poll_loop() -> None:
        while time.monotonic() < stop:
            budget.take("acct")
            with lock:
                taken.append(time.monotonic())

    threads = [threading.Thread(target=poll_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 10/s for one second (takes that began before the end may finish after it).
    within = [t for t in taken if t < stop]
    assert 8 <= len(within) <= 11
    gaps = [b - a for a, b in zip(sorted(taken), sorted(taken)[1:], strict=False)]
    assert min(gaps) > 0.05


def test_poll_budget_times_out_or_refuses_when_switched_off(ledger: Ledger) -> None:
    slow = PollBudget(ledger.redis, rate=0.5, keys=ledger.keys, max_wait_s=0.1)
    slow.take("acct2")

    with pytest.raises(PollBudgetTimeout):
        slow.take("acct2")
    with pytest.raises(PollBudgetTimeout):
        PollBudget(ledger.redis, rate=0.0, keys=ledger.keys).take("acct2")
