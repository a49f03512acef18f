"""A worker killed with SIGKILL mid-send: nothing is lost silently, nothing is sent twice —
with DEFAULT settings: the dead worker's messages come back through its expired heartbeat and
beat's dead-workers job, not through a shortened broker visibility timeout."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

QUEUES = "wa,sms"


def unsettled(producer: Producer, ids: list[str]) -> int:
    """How many of ``ids`` are still accepted or sending."""
    states = Counter(str(r.state) for r in producer.ledger.get_many(ids))
    return states["accepted"] + states["sending"]


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:crash:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


def test_fleet_sigkill_mid_send_loses_nothing_and_sends_nothing_twice(
    redis_url: str, prefix: str
) -> None:
    # Slow answers keep several hits in flight at the moment of the kill.
    faults = FaultProfile(latency_ms=400)
    with Sandbox(host="127.0.0.1", port=0, faults=faults, seed=3) as box:
        env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
        producer = Producer.from_settings(
            Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
        )
        with Fleet(env) as fleet:
            victim = fleet.start("victim", QUEUES, concurrency=4)
            fleet.start("survivor", QUEUES, concurrency=4)
            fleet.start("housekeeping", "housekeeping", concurrency=2)
            beat = BeatProcess.start(env, fleet.logdir)
            try:
                assert beat.wait_active(30), beat.log()[-2000:]
                ids = [producer.send_whatsapp(f"62815{i:08d}", f"crash {i}") for i in range(40)]
                wait_for(lambda: box.stats()["accepted_sends"] >= 8, 20, interval=0.05)
                victim.kill()
                killed_at_hits = box.stats()["accepted_sends"]

                # The killed worker's tasks stay unacknowledged for the visibility timeout, so
                # the fleet cannot be drained: what settles is the ledger.
                wait_for(lambda: not unsettled(producer, ids), 60, interval=0.25)
            finally:
                beat.stop()

        records = producer.ledger.get_many(ids)
        states = Counter(str(r.state) for r in records)
        sends_per_destination = Counter(m["destination"] for m in box.messages())

    assert 0 < killed_at_hits < 40
    assert set(states) <= {"sent", "unknown"}, states
    # Only hits in flight in the victim's 4 threads can be in doubt.
    assert states["unknown"] <= 4
    assert max(sends_per_destination.values()) == 1
    for record in records:
        if record.state == "sent":
            assert sends_per_destination[record.destination] == 1
    assert sum(sends_per_destination.values()) >= states["sent"]
