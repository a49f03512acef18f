"""The fleet end to end: producer → Redis → real `celery worker` processes → sandbox over HTTP."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest

from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

ALL_QUEUES = "wa,wa_official,sms,check,status,housekeeping"


def states_of(producer: Producer, ids: list[str]) -> Counter[str]:
    return Counter(str(r.state) for r in producer.ledger.get_many(ids))


def settle(producer: Producer, ids: list[str], timeout: float = 60.0) -> Counter[str]:
    """Wait until no message is accepted/sending any more; the states by count."""

    def settled() -> bool:
        states = states_of(producer, ids)
        return not (states["accepted"] or states["sending"])

    wait_for(settled, timeout)
    return states_of(producer, ids)


@pytest.fixture(scope="module")
def fleet_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"nwtest:fleet:{uuid.uuid4().hex[:8]}:"
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
def fleet_box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, faults=FaultProfile(latency_ms=20), seed=1) as box:
        yield box


@pytest.fixture(scope="module")
def fleet(redis_url: str, fleet_prefix: str, fleet_box: Sandbox) -> Iterator[Fleet]:
    """Three worker processes, like a small production fleet: one for OTPs, two for bulk."""
    env = fleet_env(redis_url=redis_url, key_prefix=fleet_prefix, base_url=fleet_box.url)
    with Fleet(env) as running:
        running.start("otp", "otp", concurrency=3)
        running.start("bulk1", ALL_QUEUES, concurrency=6)
        running.start("bulk2", ALL_QUEUES, concurrency=6)
        yield running


@pytest.fixture
def producer(redis_url: str, fleet_prefix: str, fleet_box: Sandbox, fleet: Fleet) -> Producer:
    fleet_box.reset()
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=fleet_prefix, nusasms_base_url=fleet_box.url)
    )


def test_fleet_delivers_messages_to_sent_with_provider_ref_no(
    producer: Producer, fleet_box: Sandbox
) -> None:
    ids = [producer.send_whatsapp(f"6281200000{i:03d}", f"hello {i}") for i in range(20)]
    ids += [producer.send_sms(f"6281300000{i:03d}", f"sms {i}") for i in range(5)]
    ids.append(producer.send_sms("6281399999999", "code 123456", otp=True))

    states = settle(producer, ids)

    assert states == Counter({"sent": len(ids)})
    for record in producer.ledger.get_many(ids):
        assert record.ref_no
        assert record.attempts == 1
        assert fleet_box.message(record.ref_no)["destination"] == record.destination


def test_fleet_sends_group_sms_as_a_row_of_the_channel_table(
    producer: Producer, fleet_box: Sandbox
) -> None:
    mid = producer.send_sms_group("Example", "hello, group")
    unknown = producer.submit("sms_group", group="NoSuchGroup", text="hello")

    states = settle(producer, [mid, unknown])

    assert states == Counter({"sent": 1, "rejected": 1})
    record = producer.get_message(mid)
    assert (record.channel, record.destination) == ("sms_group", "Example")
    assert record.ref_no  # the campaign name the provider made
    sent = [m for m in fleet_box.messages() if m.get("kind") == "sms_group"]
    assert len(sent) == 3  # one SMS to each member of the sandbox's Example group
    assert "-55" in (producer.get_message(unknown).error or "")  # unknown group: permanent


def test_fleet_holds_the_rate_rule_with_three_workers_at_high_concurrency(
    producer: Producer, fleet_box: Sandbox
) -> None:
    ids = [producer.send_whatsapp(f"62814{i:08d}", "burst", priority="bulk") for i in range(120)]

    states = settle(producer, ids)
    stats = fleet_box.stats()

    assert states == Counter({"sent": 120})
    assert stats["violations"] == 0
    assert stats["min_gap_ms"] >= 50.0
    assert stats["accepted_sends"] == 120


def test_fleet_duplicate_idempotency_key_sends_once(
    producer: Producer, fleet_box: Sandbox, fleet: Fleet
) -> None:
    key = f"order-{uuid.uuid4().hex}"
    first = producer.send_whatsapp("6281211111111", "once", idempotency_key=key)
    second = producer.send_whatsapp("6281211111111", "once", idempotency_key=key)

    states = settle(producer, [first])

    assert first == second
    assert states == Counter({"sent": 1})
    fleet.drain()  # a second task, had one been enqueued, has run by now
    assert fleet_box.stats()["accepted_sends"] == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.send_whatsapp("12ab", "x"), "destination"),
        (lambda p: p.send_whatsapp("6281211111111", "x", priority="urgent"), "priority"),
        (lambda p: p.send_sms("6281211111111", ""), "text"),
        (lambda p: p.send_whatsapp_media("6281211111111", media_url="https://e.x/a.exe"), "media"),
        (lambda p: p.submit("check", phone_numbers=[]), "phone_numbers"),
    ],
)
def test_fleet_invalid_input_never_reaches_the_provider(
    producer: Producer, fleet_box: Sandbox, fleet: Fleet, call: Any, field: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        call(producer)

    assert field in str(info.value)
    fleet.drain()  # nothing queued, nothing running: no hit can come any more
    assert fleet_box.stats()["hits"] == 0
