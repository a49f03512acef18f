"""Coalesced phone checks end to end: producers in threads → the pending set in Redis → the
dispatcher run by a real `celery beat` → `check` messages sent by a real worker through the
pacing gate → the sandbox over HTTP → its push to the real callback receiver → the cache."""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nusaworker.phonecheck import PhoneChecks
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

QUEUES = "otp,wa,wa_official,sms,check,status,housekeeping"
TOKEN = "phonecheck-callback-token-0123456789"
PRODUCERS = 7
PER_PRODUCER = 40


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:pc:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=11) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def settings(redis_url: str, prefix: str, box: Sandbox) -> Settings:
    return Settings(
        redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url, callback_token=TOKEN
    )


@pytest.fixture(scope="module")
def callback_server(settings: Settings, box: Sandbox) -> Iterator[CallbackServer]:
    with CallbackServer(create_app(settings)) as server:
        box.set_callback_url(f"{server.url}/{TOKEN}")
        yield server


@pytest.fixture(scope="module")
def logdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nusaworker-pc-beat-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet(redis_url: str, prefix: str, box: Sandbox, logdir: Path) -> Iterator[Fleet]:
    # Default settings: the 2 s linger, the 7-day TTL, the 50 ms pacing gap.
    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
    with Fleet(env) as running:
        running.start("pc", QUEUES, concurrency=6)
        beat = BeatProcess.start(env, logdir, name="pcbeat")
        try:
            assert beat.wait_active(30), beat.log()[-2000:]
            yield running
        finally:
            beat.stop()


@pytest.fixture
def producers(
    settings: Settings, fleet: Fleet, callback_server: CallbackServer
) -> Iterator[list[Producer]]:
    made = [Producer.from_settings(settings) for _ in range(PRODUCERS)]
    yield made
    for producer in made:
        producer.ledger.redis.close()


def check_hits(box: Sandbox) -> list[dict[str, object]]:
    return [h for h in box.hits() if str(h["path"]).endswith("/wa_phone_check")]


def test_phonecheck_fleet_coalesces_many_producers_into_full_hits(
    producers: list[Producer], box: Sandbox, fleet: Fleet, callback_server: CallbackServer
) -> None:
    box.reset()  # a reset also forgets the callback URL: point the pushes at the receiver again
    box.set_callback_url(f"{callback_server.url}/{TOKEN}")
    asked = [[f"628130{p:02d}{i:05d}" for i in range(PER_PRODUCER)] for p in range(len(producers))]
    check_ids: list[str] = [""] * len(producers)
    start = threading.Barrier(len(producers))

    def ask(p: int) -> None:
        start.wait()
        check_ids[p] = producers[p].check_whatsapp_numbers(asked[p])

    threads = [threading.Thread(target=ask, args=(p,)) for p in range(len(producers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    everyone = [n for numbers in asked for n in numbers]
    checks: PhoneChecks = producers[0].phone_checks
    answers = checks.wait(everyone, timeout=30)

    assert None not in answers.values(), sum(a is None for a in answers.values())
    # The sandbox's rule: a number ending in 0 is not on WhatsApp.
    assert answers == {n: not n.endswith("0") for n in everyone}
    hits = check_hits(box)
    assert len(hits) == math.ceil(len(everyone) / 100) == 3
    for p, check_id in enumerate(check_ids):
        assert producers[p].phone_check_results(check_id) == {
            n: not n.endswith("0") for n in asked[p]
        }
    assert box.stats()["violations"] == 0


def test_phonecheck_fleet_answers_a_second_ask_from_the_cache_with_no_hit(
    producers: list[Producer], box: Sandbox, fleet: Fleet
) -> None:
    numbers = [f"6281400{i:05d}" for i in range(150)]
    first = producers[0].phone_checks.wait(numbers, timeout=30)
    assert None not in first.values()
    fleet.drain()
    before = len(check_hits(box))

    again = producers[1].phone_checks.request(numbers)

    assert again == first
    assert producers[1].phone_checks.pending() == 0  # nothing queued: no hit can follow
    fleet.drain()
    assert len(check_hits(box)) == before


def test_phonecheck_fleet_sends_a_lone_partial_batch_after_the_linger(
    producers: list[Producer], box: Sandbox
) -> None:
    numbers = ["6281500000001", "6281500000010"]

    answers = producers[2].phone_checks.wait(numbers, timeout=20)

    assert answers == {"6281500000001": True, "6281500000010": False}
