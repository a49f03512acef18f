"""Delivery tracking end to end: real `celery worker` and `celery beat` processes, a real Redis,
the sandbox over HTTP pushing to the real callback receiver, a real webhook endpoint."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import FINAL_STATES, Ledger, MessageRecord, MessageState
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.receiver import Receiver, Request
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.jobs import JobLocks
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.statuses import read_status
from nusaworker.tracking.webhook import EVENT_HEADER, SIGNATURE_HEADER, verify_signature
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

S = MessageState
ALL_QUEUES = "otp,wa,wa_official,sms,check,status,housekeeping"
TOKEN = "fleet-callback-token-0123456789"
WEBHOOK_SECRET = "webhook-secret-for-the-fleet-test"
HOOK_QUEUE = "backendhooks"


def first_try_fails(request: Request, earlier: Sequence[Request]) -> int:
    """The user's backend: 503 to the first attempt of each event, so that the retries are
    exercised; 204 to the next."""
    event_id = request.header(EVENT_HEADER)
    return 204 if any(r.header(EVENT_HEADER) == event_id for r in earlier) else 503


def delivered(sink: Receiver) -> dict[str, dict[str, Any]]:
    """Event id → the event, for every event that got a 2xx (its second attempt)."""
    seen: dict[str, int] = {}
    done = {}
    for request in sink.requests:
        event_id = request.header(EVENT_HEADER)
        seen[event_id] = seen.get(event_id, 0) + 1
        if seen[event_id] >= 2:
            done[event_id] = request.json()
    return done


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:track:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, status_step_s=0.3, fail_rate=0.2, seed=4) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def callback_server(redis_url: str, prefix: str) -> Iterator[CallbackServer]:
    settings = Settings(redis_url=redis_url, key_prefix=prefix, callback_token=TOKEN)
    with CallbackServer(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
def sink() -> Iterator[Receiver]:
    with Receiver(respond=first_try_fails) as webhook:
        yield webhook


@pytest.fixture(scope="module")
def env(redis_url: str, prefix: str, box: Sandbox, sink: Receiver) -> dict[str, str]:
    return fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        # Half the account's budget for polls: the tests poll a handful of messages at once.
        poll_share="0.5",
        webhook_url=f"{sink.url}/hooks/nusaworker",
        webhook_secret=WEBHOOK_SECRET,
        webhook_backoff_base_s="0.2",
        hook_task="backend.tasks.on_message_event",
        hook_queue=HOOK_QUEUE,
    )


@pytest.fixture(scope="module")
def logdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nusaworker-beat-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet(env: dict[str, str]) -> Iterator[Fleet]:
    with Fleet(env) as running:
        running.start("track", ALL_QUEUES, concurrency=8)
        yield running


@pytest.fixture(scope="module")
def beats(env: dict[str, str], logdir: Path, fleet: Fleet) -> Iterator[list[BeatProcess]]:
    first = BeatProcess.start(env, logdir, name="beat1")
    running = [first]
    try:
        assert first.wait_active(30), first.log()[-2000:]
        yield running
    finally:
        for beat in running:
            beat.stop()


@pytest.fixture
def producer(
    redis_url: str, prefix: str, box: Sandbox, fleet: Fleet, beats: list[BeatProcess]
) -> Producer:
    box.set_callback_url(None)
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


def expected_state(box: Sandbox, record: MessageRecord) -> MessageState:
    assert record.ref_no is not None
    view = box.message(record.ref_no)
    assert view is not None
    state = read_status(record.channel, view["path"][-1]).state
    assert state is not None
    return state


def final(producer: Producer, ids: list[str]) -> bool:
    return all(r.state in FINAL_STATES for r in producer.ledger.get_many(ids))


def test_tracking_fleet_polling_alone_takes_messages_to_their_final_state(
    producer: Producer, box: Sandbox
) -> None:
    ids = [producer.send_whatsapp(f"6281500000{i:03d}", f"poll me {i}") for i in range(8)]
    ids += [producer.send_sms(f"6281600000{i:03d}", f"sms {i}") for i in range(3)]
    ids.append(producer.send_sms("6281699999999", "code 1234", otp=True))

    assert wait_for(lambda: final(producer, ids), timeout=40), producer.ledger.counts_by_state(ids)

    records = producer.ledger.get_many(ids)
    for record in records:
        # The provider's own final word, read back through polls only (no callback URL).
        want = expected_state(box, record)
        if want is S.READ and record.channel == "wa":
            # Polling stops at the first final answer: D or R, whichever the poll saw first.
            assert record.state in (S.DELIVERED, S.READ)
        else:
            assert record.state is want
        assert record.provider_status
    polled = {hit["path"].rsplit("/", 1)[-1] for hit in box.hits(kind="read")}
    wa_refs = {r.ref_no for r in records if r.channel == "wa"}
    assert wa_refs <= polled
    assert box.stats()["callbacks_sent"] == 0
    assert box.stats()["violations"] == 0


def test_tracking_fleet_callbacks_alone_finish_before_the_first_poll(
    producer: Producer, box: Sandbox, callback_server: CallbackServer
) -> None:
    box.set_callback_url(f"{callback_server.url}/{TOKEN}")
    started = time.monotonic()
    ids = [producer.send_whatsapp(f"6281700000{i:03d}", f"push me {i}") for i in range(6)]

    def as_provider_ended() -> bool:
        records = producer.ledger.get_many(ids)
        return all(r.ref_no and r.state is expected_state(box, r) for r in records)

    # Pushes bring every step (delivered, then read): wait for the provider's last word.
    assert wait_for(as_provider_ended, timeout=30), producer.ledger.counts_by_state(ids)
    elapsed = time.monotonic() - started

    records = producer.ledger.get_many(ids)
    refs = {r.ref_no for r in records}
    polled = [h for h in box.hits(kind="read") if h["path"].rsplit("/", 1)[-1] in refs]
    # The first poll of a message is due 5 s after it was sent; the pushes got there first.
    assert polled == [], f"finished in {elapsed:.1f}s"
    assert box.stats()["callbacks_failed"] == 0


def test_tracking_fleet_hooks_get_every_change_signed_and_retried(
    producer: Producer,
    box: Sandbox,
    callback_server: CallbackServer,
    sink: Receiver,
    redis_url: str,
) -> None:
    box.set_callback_url(f"{callback_server.url}/{TOKEN}")
    message_id = producer.send_whatsapp("6281800000001", "hook me")
    box.push_inbox("wa", "6281234500000", "a reply")

    def at_provider_end() -> bool:
        record = producer.ledger.get(message_id)
        return bool(record.ref_no) and record.state is expected_state(box, record)

    assert wait_for(at_provider_end, timeout=30), producer.ledger.get(message_id)

    def webhook_saw_everything() -> bool:
        events = list(delivered(sink).values())
        states = {e.get("state") for e in events if e.get("message_id") == message_id}
        tried_mine = {
            r.json()["state"] for r in sink.requests if r.json().get("message_id") == message_id
        }
        inbound = [e for e in events if e["type"] == "inbound" and e["text"] == "a reply"]
        final_state = producer.ledger.get(message_id).state.value
        return bool(inbound) and final_state in states and tried_mine <= states

    assert wait_for(webhook_saw_everything, timeout=40), sink.requests[-5:]

    mine = [r for r in sink.requests if r.json().get("message_id") == message_id]
    for request in sink.requests:
        assert request.path == "/hooks/nusaworker"
        assert verify_signature(WEBHOOK_SECRET, request.body, request.header(SIGNATURE_HEADER))
        assert not verify_signature("wrong-secret", request.body, request.header(SIGNATURE_HEADER))
    states = [r.json()["state"] for r in mine]
    assert "sent" in states
    assert len(mine) >= 2 * len(set(states))  # every event: a 503 first, then a retry
    # The backend's own task, by name, on its own queue of the fleet's broker.
    raw = redis.Redis.from_url(redis_url).lrange(producer.ledger.keys.prefix + HOOK_QUEUE, 0, -1)
    tasks = [json.loads(item) for item in raw]
    assert {t["headers"]["task"] for t in tasks} == {"backend.tasks.on_message_event"}
    args = [json.loads(base64.b64decode(t["body"]))[0][0] for t in tasks]
    assert any(a.get("message_id") == message_id and a["state"] == "sent" for a in args)


# The default orphan_after_s is 10 s: a record written this long ago is due for the sweep.
LOST_AGO_S = 20.0


def _lost(producer: Producer, channel: str, destination: str, text: str) -> str:
    """A record whose task never reached the broker (a producer crash between the two),
    written LOST_AGO_S ago: the settings stay the defaults, the record is old."""
    field = "message" if channel == "wa" else "text"
    record = MessageRecord(
        channel=channel, destination=destination, payload={"destination": destination, field: text}
    )
    ledger = producer.ledger
    past = Ledger(ledger.redis, keys=ledger.keys, clock=lambda: time.time() - LOST_AGO_S)
    return past.create(record)[0]


def _orphan_runs(producer: Producer) -> float:
    """How many orphan sweeps have started (runs never overlap: they take a lock)."""
    jobs = JobLocks(producer.ledger.redis, keys=producer.ledger.keys)
    return jobs.stats().get("orphans", {}).get("runs", 0.0)


def _orphans_swept_twice_since(producer: Producer, runs: float) -> bool:
    """Two sweeps started after ``runs`` was read, and the last one has finished."""
    busy = producer.ledger.redis.exists(producer.ledger.keys.job_lock("orphans"))
    return _orphan_runs(producer) >= runs + 2 and not busy


def test_tracking_fleet_orphans_send_a_lost_task_exactly_once(
    producer: Producer, box: Sandbox, fleet: Fleet
) -> None:
    sends_before = box.stats()["accepted_sends"]
    message_id = _lost(producer, "wa", "6281900000001", "lost task")

    # Beat sweeps every 5 s; two more sweeps at once: one replays, the other finds the lock
    # or the marker.
    producer.app.send_task("nusaworker.housekeeping.orphans")
    producer.app.send_task("nusaworker.housekeeping.orphans")
    done = wait_for(lambda: producer.ledger.get(message_id).state in FINAL_STATES | {S.SENT}, 30)
    assert done, producer.ledger.get(message_id)
    # Late copies: more sweeps, and a stray send task of the same message; wait until two
    # more sweeps have finished, by then either would have sent.
    runs = _orphan_runs(producer)
    producer.app.send_task("nusaworker.housekeeping.orphans")
    producer.app.send_task("nusaworker.send", args=[message_id], queue="wa")
    assert wait_for(lambda: _orphans_swept_twice_since(producer, runs), 30)
    fleet.drain()  # the stray send task has run too: "once" is then worth asserting

    assert box.stats()["accepted_sends"] == sends_before + 1
    assert producer.ledger.get(message_id).ref_no


def test_tracking_fleet_orphans_skip_a_channel_the_breaker_paused(
    producer: Producer, box: Sandbox, redis_url: str, prefix: str
) -> None:
    import io

    from nusaworker.credit import commands

    settings = Settings(
        redis_url=redis_url,
        key_prefix=prefix,
        nusasms_base_url=box.url,
        nusasms_api_key="test-key",
        nusasms_sms_user="user",
        nusasms_sms_password="pass",
    )
    commands.pause(settings, ["sms"], io.StringIO())
    try:
        message_id = _lost(producer, "sms", "6281900000002", "wait for the resume")
        marker = producer.ledger.keys.replayed(message_id)
        runs = _orphan_runs(producer)
        producer.app.send_task("nusaworker.housekeeping.orphans")
        assert wait_for(lambda: _orphans_swept_twice_since(producer, runs), 30)
        assert producer.ledger.redis.exists(marker) == 0
        assert producer.ledger.get(message_id).state is S.ACCEPTED
    finally:
        commands.resume(settings, ["sms"], io.StringIO())

    assert wait_for(lambda: producer.ledger.get(message_id).state in FINAL_STATES | {S.SENT}, 30)
    assert producer.ledger.get(message_id).attempts == 1


def test_tracking_fleet_two_beats_run_each_job_once_and_fail_over(
    env: dict[str, str], logdir: Path, beats: list[BeatProcess], redis_url: str, prefix: str
) -> None:
    first = beats[0]
    second = BeatProcess.start(env, logdir, name="beat2")
    beats.append(second)
    jobs = JobLocks(redis.Redis.from_url(redis_url), keys=Keys(prefix=prefix))

    def runs(job: str) -> float:
        counters = jobs.stats().get(job, {})
        return counters.get("runs", 0) + counters.get("skipped", 0)

    # It logs this right before it blocks on the lock the first beat holds.
    assert wait_for(lambda: "beat: Starting..." in second.log(), 30), second.log()[-2000:]
    before = runs("dispatch_polls")
    window = 6.0
    time.sleep(window)  # the measurement itself: how many runs one window of time holds
    during = runs("dispatch_polls") - before

    assert first.active and not second.active
    # One beat ticking every second: at most about `window` runs (a busy box may drop a few:
    # they expire), never the 2x of two beats sending the schedule.
    assert 1 <= during <= window + 2, during

    first.kill()  # a crash: the lock is not released, the standby waits for its timeout
    assert second.wait_active(timeout=25), second.log()[-2000:]
    resumed = runs("dispatch_polls")
    assert wait_for(lambda: runs("dispatch_polls") >= resumed + 1, 10)  # it runs the schedule


def test_tracking_fleet_ledger_keys_stay_under_the_fleet_prefix(
    redis_url: str, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    assert any(k.startswith(prefix + "redbeat:") for k in keys)
    assert client.exists(Ledger(client, keys=Keys(prefix=prefix)).keys.events)
