"""Per-message fallback: the producer's edge checks, beat's job against a real ledger, and one
WhatsApp message that fails at the provider followed by its SMS through a real fleet."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pydantic import ValidationError

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageState
from nusaworker.producer import FallbackError, Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.fallback import run_fallbacks

pytestmark = pytest.mark.integration


@pytest.fixture
def producer(redis_url: str, key_prefix: str) -> Producer:
    return Producer.from_settings(Settings(redis_url=redis_url, key_prefix=key_prefix))


def test_fallback_refused_at_the_edge_when_it_cannot_be(producer: Producer) -> None:
    with pytest.raises(FallbackError, match="not 'sms'"):
        producer.send_sms("6281234567890", "hi", fallback_after_s=60)
    with pytest.raises(FallbackError, match="fallback_text"):
        producer.send_whatsapp_media(
            "6281234567890", media_url="https://example.com/a.png", fallback_after_s=60
        )
    with pytest.raises(FallbackError, match="needs fallback_after_s"):
        producer.send_whatsapp("6281234567890", "hi", fallback_text="x")
    with pytest.raises(ValidationError):
        producer.send_whatsapp("6281234567890", "hi", fallback_after_s=-1)
    with pytest.raises(ValidationError):  # a WhatsApp group has no number to text
        producer.send_whatsapp("120363000000-1234", "hi", is_group=True, fallback_after_s=60)
    assert producer.ledger.due_fallbacks(float("inf"), 10) == []


def test_fallback_due_and_not_delivered_sends_one_sms(producer: Producer) -> None:
    ledger: Ledger = producer.ledger
    late = producer.send_whatsapp("6281200000001", "your parcel", fallback_after_s=60)
    read = producer.send_whatsapp("6281200000002", "your parcel", fallback_after_s=60)
    early = producer.send_whatsapp("6281200000003", "later", fallback_after_s=3600)
    record = ledger.get(read)
    ledger.redis.hset(ledger.keys.message(read), "state", MessageState.READ.value)
    enqueued: list[str] = []

    report = run_fallbacks(
        ledger, enqueue=lambda r: enqueued.append(r.id), now=record.created_at + 61
    )
    again = run_fallbacks(
        ledger, enqueue=lambda r: enqueued.append(r.id), now=record.created_at + 61
    )

    assert (report.sent, report.not_needed, again.sent) == (1, 1, 0)
    [sms_id] = enqueued
    sms = ledger.get(sms_id)
    assert (sms.channel, sms.destination, sms.payload["text"]) == (
        "sms",
        "6281200000001",
        "your parcel",
    )
    assert ledger.get(late).fallback_id == sms_id
    assert ledger.get(read).fallback_id is None
    assert ledger.due_fallbacks(float("inf"), 10) == [early]
    # A run that died after creating the SMS and is repeated makes no second one.
    ledger.schedule_fallback(late, 0)
    run_fallbacks(ledger, enqueue=lambda r: enqueued.append(r.id), now=record.created_at + 61)
    assert enqueued == [sms_id] and ledger.get(late).fallback_id == sms_id


@pytest.fixture(scope="module")
def fleet_prefix(redis_url: str) -> Iterator[str]:
    made = f"nwtest:fallback:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(redis_url, made)


def test_fallback_whatsapp_failed_at_the_provider_is_followed_by_its_sms(
    redis_url: str, fleet_prefix: str, redis_client: redis.Redis
) -> None:
    # Every WhatsApp message this sandbox takes ends F (failed).
    with Sandbox(seed=3, fail_rate=1.0, status_step_s=0.3) as box:
        env = fleet_env(redis_url=redis_url, key_prefix=fleet_prefix, base_url=box.url)
        with Fleet(env) as fleet:
            schedule = Path(fleet.logdir) / "beat-schedule"
            fleet.start(
                "fallback",
                "otp,wa,sms,status,housekeeping",
                concurrency=2,
                extra_args=("-B", "-s", str(schedule)),
            )
            producer = Producer.from_settings(
                Settings(redis_url=redis_url, key_prefix=fleet_prefix, nusasms_base_url=box.url)
            )
            wa = producer.send_whatsapp("6281300000001", "code 4711", fallback_after_s=5)

            assert wait_for(lambda: producer.ledger.get(wa).fallback_id is not None, 60)
            sms_id = producer.ledger.get(wa).fallback_id
            assert sms_id is not None
            assert wait_for(lambda: producer.ledger.get(sms_id).ref_no is not None, 30)
            fleet.drain()
            # The fallback goes at its 5 s whatever the WhatsApp message's state; the failure
            # (F) reaches the record with the poll, which may come after (a busy box).
            assert wait_for(
                lambda: (
                    producer.ledger.get(wa).state in (MessageState.FAILED, MessageState.ABORTED)
                ),
                60,
            ), producer.ledger.get(wa)
            mine = [m for m in box.messages() if m["destination"] == "6281300000001"]
            # One WhatsApp message and one SMS, each once.
            assert sorted(m["channel"] for m in mine) == ["sms", "wa"], mine
            assert [
                m["text"]
                for m in box.messages()
                if m["ref_no"] == producer.ledger.get(sms_id).ref_no
            ] == ["code 4711"]
    assert redis_client.zcard(Keys(prefix=fleet_prefix).fallback_index) == 0
