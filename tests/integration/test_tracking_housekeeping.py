"""Replay, expiry, the parked sweep, per-run job locks and the hooks dispatcher, against a
real Redis (in-process; the fleet tests run the same through real workers and beat)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState, StatusUpdate
from nusaworker.tracking import housekeeping
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.hooks import HookDispatcher, HookTargets, dispatch_events, message_event
from nusaworker.tracking.inbox import InboxStore
from nusaworker.tracking.jobs import JobLocks
from nusaworker.tracking.pushes import InboundPush

pytestmark = pytest.mark.integration

S = MessageState


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


def _accepted(ledger: Ledger, channel: str = "wa") -> str:
    message_id, _ = ledger.create(MessageRecord(channel=channel, destination="628123"))
    return message_id


def _sent(ledger: Ledger, ref_no: str, *, sent_at: float | None = None) -> str:
    message_id = _accepted(ledger)
    claim = ledger.claim(message_id)
    assert claim.token is not None
    ledger.begin_hit(message_id, claim.token)
    ledger.mark_sent(message_id, claim.token, ref_no, next_poll_at=0.0)
    if sent_at is not None:
        ledger.redis.hset(ledger.keys.message(message_id), "sent_at", repr(sent_at))
    return message_id


def test_replay_stuck_enqueues_each_stuck_record_once_per_period(ledger: Ledger) -> None:
    stuck = _accepted(ledger)
    taken = _accepted(ledger)
    ledger.claim(taken)  # claimed: its task is alive, nothing to replay
    enqueued: list[str] = []

    first = housekeeping.replay_stuck(
        ledger, older_than_s=0.0, period_s=60.0, enqueue=lambda r: enqueued.append(r.id)
    )
    second = housekeeping.replay_stuck(
        ledger, older_than_s=0.0, period_s=60.0, enqueue=lambda r: enqueued.append(r.id)
    )

    assert enqueued == [stuck]
    assert first.replayed == [stuck]
    assert second.recently_replayed == 1


def test_replay_stuck_leaves_young_records_and_paused_channels_alone(ledger: Ledger) -> None:
    _accepted(ledger, channel="wa")
    sms = _accepted(ledger, channel="sms")
    enqueued: list[str] = []

    young = housekeeping.replay_stuck(
        ledger, older_than_s=600.0, period_s=60.0, enqueue=lambda r: enqueued.append(r.id)
    )
    paused = housekeeping.replay_stuck(
        ledger,
        older_than_s=0.0,
        period_s=60.0,
        enqueue=lambda r: enqueued.append(r.id),
        is_paused=lambda channel: channel == "wa",
    )

    assert young.replayed == []
    assert paused.paused == 1
    assert enqueued == [sms]


def test_expire_overdue_expires_only_records_past_the_horizon(ledger: Ledger) -> None:
    now = time.time()
    old = _sent(ledger, "R-OLD", sent_at=now - 7200)
    young = _sent(ledger, "R-YOUNG", sent_at=now - 10)

    assert housekeeping.expire_overdue(ledger, horizon_s=3600, now=now, page=1) == 1

    assert ledger.get(old).state is S.EXPIRED
    assert ledger.get(old).error == housekeeping.EXPIRY_REASON
    assert ledger.get(young).state is S.SENT


def test_sweep_parked_applies_what_a_crash_left_parked(ledger: Ledger) -> None:
    message_id = _sent(ledger, "R-SWEEP")
    # As if the push was parked and the worker died before applying it after mark_sent.
    ledger.parked.park("R-SWEEP", StatusUpdate(S.DELIVERED, provider_status="D"))
    ledger.parked.park("R-NOBODY", StatusUpdate(S.DELIVERED, provider_status="D"))

    assert housekeeping.sweep_parked(ledger) == 1

    assert ledger.get(message_id).state is S.DELIVERED
    assert ledger.parked.refs(10) == ["R-NOBODY"]


def test_job_locks_skip_a_second_copy_while_the_first_runs(ledger: Ledger) -> None:
    jobs = JobLocks(ledger.redis, keys=ledger.keys)

    with jobs.run_once("demo", 30) as first, jobs.run_once("demo", 30) as second:
        assert (first, second) == (True, False)
    with jobs.run_once("demo", 30) as third:
        assert third

    stats = jobs.stats()["demo"]
    assert (stats["runs"], stats["skipped"]) == (2, 1)
    assert stats["last_run"] > 0


def test_job_lock_is_not_released_by_a_run_that_lost_it(ledger: Ledger) -> None:
    jobs = JobLocks(ledger.redis, keys=ledger.keys)
    key = ledger.keys.job_lock("slow")

    with jobs.run_once("slow", 30) as mine:
        assert mine
        ledger.redis.set(key, "someone-else")  # our TTL ran out and another run took over

    assert ledger.redis.get(key) == "someone-else"


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.sent: list[tuple[str, list[Any]]] = []
        self.fail_on = fail_on

    def send_task(self, name: str, args: list[Any], **options: Any) -> None:
        if self.fail_on and args[0].get("state") == self.fail_on:
            self.fail_on = None
            raise ConnectionError("broker hiccup")
        self.sent.append((name, args))


def test_dispatch_events_hands_every_event_on_in_order_exactly_when_acknowledged(
    ledger: Ledger,
) -> None:
    message_id = _sent(ledger, "R-HOOK")
    ledger.update_status(message_id, S.DELIVERED, provider_status="D")
    InboxStore(ledger.redis, keys=ledger.keys).store(
        InboundPush(channel="wa", provider_id="IN-1", sender="628123", text="hi")
    )
    stream = EventStream(ledger.redis, keys=ledger.keys)
    broker = Recorder(fail_on="delivered")
    dispatcher = HookDispatcher(
        targets=HookTargets(hook_task="app.on_event", webhook=True), send_task=broker.send_task
    )
    signalled: list[dict[str, Any]] = []

    def on_event(sender: Any, event: dict[str, Any], **kwargs: Any) -> None:
        signalled.append(event)

    message_event.connect(on_event)
    try:
        with pytest.raises(ConnectionError):
            dispatch_events(stream, dispatcher)
        assert stream.pending() == 2  # the failed one and the one after it: not acknowledged
        handed = dispatch_events(stream, dispatcher)
        again = dispatch_events(stream, dispatcher)
    finally:
        message_event.disconnect(on_event)

    assert (handed, again) == (2, 0)
    assert stream.pending() == 0
    hook_events = [args[0] for name, args in broker.sent if name == "app.on_event"]
    assert [(e["type"], e.get("state")) for e in hook_events] == [
        ("state", "sent"),
        ("state", "delivered"),
        ("inbound", None),
    ]
    assert len([n for n, _ in broker.sent if n == "nusaworker.housekeeping.webhook"]) == 3
    # At least once: the signal saw "delivered" on the failed try and again on the retry.
    assert [e.get("state") for e in signalled] == ["sent", "delivered", "delivered", None]
