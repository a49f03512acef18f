"""Each task lands in exactly one broker queue, its own, even once every queue is declared
(as a running fleet declares them): real Redis, real kombu bindings."""

from __future__ import annotations

import pytest
import redis

from nusaworker.producer import Producer
from nusaworker.routing import QUEUES
from nusaworker.settings import Settings

pytestmark = pytest.mark.integration


def queued(redis_client: redis.Redis, prefix: str) -> dict[str, int]:
    """Messages waiting per queue (all its priority lists together)."""
    counts = dict.fromkeys(QUEUES, 0)
    for queue in QUEUES:
        for key in [prefix + queue, *redis_client.scan_iter(match=f"{prefix}{queue}:*")]:
            if redis_client.type(key) in (b"list", "list"):
                counts[queue] += int(redis_client.llen(key))
    return counts


def test_broker_each_send_lands_in_its_own_queue_only(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    producer = Producer.from_settings(Settings(redis_url=redis_url, key_prefix=key_prefix))
    with producer.app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in producer.app.amqp.queues.values():
            queue(channel).declare()  # what the workers of every queue do when they start

    producer.send_whatsapp("6281234567890", "hello", priority="bulk")
    assert queued(redis_client, key_prefix) == dict.fromkeys(QUEUES, 0) | {"wa": 1}
    producer.send_sms("6281234567891", "promo", priority="normal")
    producer.send_sms("6281234567892", "code 1234", otp=True)
    assert queued(redis_client, key_prefix) == dict.fromkeys(QUEUES, 0) | {
        "wa": 1,
        "sms": 1,
        "otp": 1,
    }
