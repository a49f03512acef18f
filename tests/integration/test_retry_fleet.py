"""Every message reaches a final state, end to end: a real `celery worker` and `celery beat`,
a real Redis, and the sandbox answering every hit with a 5xx — for ever.

The OTP tests run with the default timing settings: the default OTP budget (5 attempts,
backoff base 2 s) ends within a minute. The default budget of ``normal`` messages spans
tens of minutes, so the ``normal`` test sets a small *budget* (3 attempts, backoff base
0.5 s): it shows the same mechanism end to end; no timeout is shortened to fake a guarantee.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from nusaworker.ledger import FINAL_STATES, MessageRecord, MessageState
from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

S = MessageState
QUEUES = "otp,wa,sms,housekeeping"
SMALL_NORMAL_BUDGET = {
    "retry_max_attempts": '{"normal": 3}',
    "retry_backoff_base_s": '{"normal": 0.5}',
}


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:retry:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, faults=FaultProfile(p_5xx=1.0), seed=3) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def fleet(redis_url: str, prefix: str, box: Sandbox) -> Iterator[Fleet]:
    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url, **SMALL_NORMAL_BUDGET)
    with Fleet(env) as running:
        running.start("retry", QUEUES, concurrency=4)
        beat = BeatProcess.start(env, running.logdir)
        try:
            assert beat.wait_active(30), beat.log()[-2000:]
            yield running
        finally:
            beat.stop()


@pytest.fixture
def producer(redis_url: str, prefix: str, box: Sandbox, fleet: Fleet) -> Producer:
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


def final_record(producer: Producer, message_id: str, timeout: float) -> MessageRecord:
    final = wait_for(lambda: producer.get_message(message_id).state in FINAL_STATES, timeout)
    assert final, f"message {message_id} did not reach a final state in {timeout} s"
    return producer.get_message(message_id)


@pytest.mark.timeout(240)
def test_retry_fleet_otp_failing_for_ever_ends_failed_after_its_default_budget(
    producer: Producer, fleet: Fleet
) -> None:
    mid = producer.send_sms("6281700000001", "Your code is 123456", otp=True)

    record = final_record(producer, mid, timeout=180)

    assert record.state is S.FAILED
    assert record.attempts == 5  # the default OTP budget
    assert record.error is not None and record.error.startswith("TransientError: ")
    assert "gave up after 5 attempt(s)" in record.error
    # The waits were the ledger's: no Celery countdown retry was ever scheduled.
    assert all("Retry in" not in worker.log() for worker in fleet.workers)


@pytest.mark.timeout(120)
def test_retry_fleet_normal_failing_for_ever_ends_failed_after_its_budget(
    producer: Producer,
) -> None:
    mid = producer.send_whatsapp("6281700000002", "Your order has shipped")

    record = final_record(producer, mid, timeout=90)

    assert record.state is S.FAILED and record.attempts == 3
    assert record.error is not None and record.error.startswith("TransientError: ")
    assert "gave up after 3 attempt(s)" in record.error


@pytest.mark.timeout(120)
def test_retry_fleet_otp_not_sent_within_its_validity_ends_expired(producer: Producer) -> None:
    mid = producer.send_sms("6281700000003", "Your code is 654321", otp=True, validity_s=2)

    record = final_record(producer, mid, timeout=90)

    assert record.state is S.EXPIRED
    assert record.error is not None
    assert record.error.startswith("Expired: not sent within its validity of 2 s")
    assert record.attempts < 5  # it ran out of time, not of budget
