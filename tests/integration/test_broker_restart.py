"""A worker outlives a Redis restart: it reconnects and goes on consuming, no supervisor needed.

Celery 5.7 closes the broken broker connection after ``collect()`` has already cleared the
transport's client; closing the channel then restores the unacknowledged messages through a
new pool, whose parameters kombu reads from that cleared client — an ``AttributeError`` the
consumer takes as unrecoverable: the worker exited on every Redis restart that found it holding
prefetched messages (RELIABILITY.md: "workers exited by themselves").
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import PersistentRedis
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[PersistentRedis]:
    with PersistentRedis(appendfsync="everysec") as server:
        yield server


@pytest.mark.parametrize("pool", [None, "prefork"], ids=["default-pool", "prefork"])
def test_worker_survives_a_redis_restart_holding_prefetched_messages(
    server: PersistentRedis, pool: str | None
) -> None:
    prefix = f"nwtest:restart:{uuid.uuid4().hex[:8]}:"
    # Slow answers: a few sends in flight (delivered, not acknowledged) while the consumer,
    # below its prefetch limit, waits on the queue (a BRPOP in flight) when Redis goes.
    with Sandbox(host="127.0.0.1", port=0, faults=FaultProfile(latency_ms=3000), seed=4) as box:
        env = fleet_env(redis_url=server.url, key_prefix=prefix, base_url=box.url)
        producer = Producer.from_settings(
            Settings(redis_url=server.url, key_prefix=prefix, nusasms_base_url=box.url)
        )
        with Fleet(env) as fleet:
            # celeryconfig's pool; or prefork, whose children a cancel on connection
            # loss would kill mid-hit (celeryconfig leaves that off).
            worker = fleet.start("restart", "wa", pool=pool, concurrency=4)
            before = [producer.send_whatsapp(f"62816{i:08d}", f"before {i}") for i in range(3)]
            assert wait_for(lambda: len(box.hits()) >= 3, 30)  # all three in flight
            server.restart(down_for=2.0)
            # It exited within seconds of the restart before the fix: give it 8 s to do so.
            exited = wait_for(lambda: worker.proc.poll() is not None, 8)
            assert not exited, worker.log()[-4000:]
            after = [producer.send_whatsapp(f"62817{i:08d}", f"after {i}") for i in range(5)]

            def sent(ids: list[str]) -> bool:
                return all(producer.get_message(i).state != "accepted" for i in ids)

            assert wait_for(lambda: sent(after), 60), worker.log()[-4000:]
            # The hits in flight at the restart were finished by the same worker, once each.
            assert wait_for(
                lambda: all(producer.get_message(i).state == "sent" for i in before), 60
            ), [producer.get_message(i) for i in before]
            per_number = Counter(m["destination"] for m in box.messages())
            assert max(per_number.values()) == 1, per_number
            assert worker.proc.poll() is None, worker.log()[-4000:]
            assert "Unrecoverable error" not in worker.log()
