"""Poison work through a real worker: messages no retry can fix, between good ones on one queue.

A record whose payload was corrupted in Redis, a channel nobody knows, a payload that lost a
field, a record key of the wrong type, an id with no record, and sends an endpoint answers with
garbage: each poison message ends final with its reason (or, without a record, its task simply
ends), every good one is sent, and the queue drains — no task is handed back to loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from nusaworker.ledger import MessageRecord
from nusaworker.producer import Producer
from nusaworker.routing import enqueue_send
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

NUMBER = "6281234567890"
BAD_PATH = "/nusasms_api/1.0/whatsapp/media"  # the endpoint that answers garbage


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    made = f"nwtest:poison:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(redis_url, made)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    faults = FaultProfile(garbage_paths=(BAD_PATH,), garbage_kinds=("truncated", "html", "huge"))
    with Sandbox(host="127.0.0.1", port=0, faults=faults, seed=3) as made:
        yield made


def test_poison_fleet_ends_poison_final_sends_the_good_and_drains_the_queue(
    redis_url: str, prefix: str, box: Sandbox
) -> None:
    producer = Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )
    ledger, redis_client = producer.ledger, producer.ledger.redis

    def poison(channel: str, payload: dict[str, object]) -> str:
        message_id, _ = ledger.create(
            MessageRecord(channel=channel, destination=NUMBER, payload=payload)
        )
        return message_id

    def enqueue(message_id: str) -> None:
        enqueue_send(producer.app.send_task, message_id, "wa", "normal")

    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
    with Fleet(env) as fleet:
        fleet.start("w1", "wa", concurrency=2)
        good: list[str] = []
        expected: dict[str, tuple[str, str]] = {}  # poison id → (state, words of its reason)

        corrupt = poison("wa", {"destination": NUMBER, "message": "hi"})
        redis_client.hset(ledger.keys.message(corrupt), "payload", "{not json")
        expected[corrupt] = ("rejected", "payload: not JSON")
        unknown_channel = poison("fax", {"destination": NUMBER, "message": "hi"})
        expected[unknown_channel] = ("rejected", "unknown channel 'fax'")
        no_text = poison("wa", {"destination": NUMBER})
        expected[no_text] = ("rejected", "message")
        wrong_type = f"wrongtype-{uuid.uuid4().hex[:6]}"
        redis_client.set(ledger.keys.message(wrong_type), "not a hash")
        missing = f"missing-{uuid.uuid4().hex[:6]}"
        garbled = [
            producer.send_whatsapp_media(NUMBER, media_url=f"https://e.example/{i}.png")
            for i in range(3)
        ]
        for i, message_id in enumerate(garbled):
            expected[message_id] = ("unknown", "AmbiguousOutcome")
            good.append(producer.send_whatsapp(NUMBER, f"before {i}"))
        for message_id in (corrupt, unknown_channel, no_text, wrong_type, missing):
            enqueue(message_id)
            good.append(producer.send_whatsapp(NUMBER, f"after {message_id}"))

        ids = good + list(expected)
        fleet.drain(
            lambda: not {"accepted", "sending"} & {s for s in ledger.states(ids) if s}, timeout=90
        )
        worker = fleet.workers[0]
        assert wait_for(lambda: "no record; nothing to send" in worker.log(), 10)
        log = worker.log()

    assert [ledger.get(m).state for m in good] == ["sent"] * len(good)
    for message_id, (state, words) in expected.items():
        fields = ledger.fields(message_id, "state", "error")
        assert fields["state"] == state, (message_id, fields)
        assert words in (fields["error"] or ""), (message_id, fields)
    # Each garbled send reached the provider once: in doubt, never sent again.
    garbage_hits = [h for h in box.hits() if h["path"] == BAD_PATH]
    assert len(garbage_hits) == len(garbled)
    assert all((h["fault"] or "").startswith("garbage:") for h in garbage_hits)
    # The key of the wrong type is left as it was; the task of the id without a record ended.
    assert redis_client.get(ledger.keys.message(wrong_type)) in (b"not a hash", "not a hash")
    # No task was handed back to the broker to fail again: each task ran once, and succeeded.
    tasks = len(good) + len(garbled) + 5
    assert "task handed back" not in log
    assert log.count("Task nusaworker.send[") == 2 * tasks  # received, then succeeded
    assert log.count("] succeeded in") == tasks
