"""Credit and breakers end to end: producer → Redis → real `celery worker` (with embedded beat)
→ sandbox over HTTP; alerts arrive, signed, at a real HTTP receiver in this process.

Proves: credit running out mid-stream pauses the channel with nothing failed or lost, and a
top-up through the sandbox's control API resumes it (the beat probe); a wrong key pauses with
exactly one alert; thresholds crossed and recovered alert exactly once each; the CLI's pause,
resume and balance work against a live fleet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from nusaworker.credit.breakers import BreakerBoard
from nusaworker.credit.schedule import WATCH_TASK
from nusaworker.credit.sinks import SIGNATURE_HEADER, verify
from nusaworker.keys import Keys
from nusaworker.producer import Producer
from nusaworker.providers import account_fingerprint
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.receiver import Receiver, Request
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

SECRET = "fleet-alert-secret"
ACCOUNT = account_fingerprint("test-key")
QUEUES = "wa,wa_official,sms,check,housekeeping"
CONCURRENCY = 4


def signed(request: Request) -> bool:
    return verify(SECRET, request.body, request.header(SIGNATURE_HEADER))


class AlertReceiver(Receiver):
    """The alert webhook: 204 to an alert signed with SECRET; 401 to any other, which is
    counted as forged and never as an alert."""

    def __init__(self) -> None:
        super().__init__(respond=lambda request, _earlier: 204 if signed(request) else 401)

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.requests if signed(r)]

    @property
    def forged(self) -> int:
        return sum(not signed(r) for r in self.requests)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a["kind"] == kind]


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    made = f"nwtest:credit:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(redis_url, made)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=7, fail_rate=0.0) as running:
        yield running


@pytest.fixture(scope="module")
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def env(redis_url: str, prefix: str, box: Sandbox, receiver: AlertReceiver) -> dict[str, str]:
    return fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        alert_sinks="log,webhook",
        alert_webhook_url=f"{receiver.url}/alerts",
        alert_webhook_secret=SECRET,
        breaker_probe_interval_s="1",
        balance_watch_interval_s="3600",
        balance_thresholds=json.dumps({"wa": 100, "sms_credits": 100}),
    )


@pytest.fixture(scope="module")
def fleet(env: dict[str, str], redis_url: str, prefix: str) -> Iterator[Fleet]:
    """One worker with an embedded beat (-B): the real schedule drives the probes."""
    # The beat's own balance watch would run at its first tick; these tests drive the watch
    # themselves (force=True), so its fleet-wide interval lock is taken for the module.
    lock = Keys(prefix=prefix).watch_lock(ACCOUNT)
    redis.Redis.from_url(redis_url).set(lock, "1", ex=3600)
    with Fleet(env) as running:
        schedule = Path(running.logdir) / "beat-schedule"
        running.start(
            "credit", QUEUES, concurrency=CONCURRENCY, extra_args=("-B", "-s", str(schedule))
        )
        yield running


@pytest.fixture
def producer(redis_url: str, prefix: str, box: Sandbox, fleet: Fleet) -> Producer:
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


@pytest.fixture
def board(producer: Producer) -> BreakerBoard:
    return BreakerBoard(producer.ledger.redis, account=ACCOUNT, keys=producer.ledger.keys)


@pytest.fixture(autouse=True)
def fresh(
    box: Sandbox, receiver: AlertReceiver, redis_client: redis.Redis, prefix: str
) -> Iterator[None]:
    box.reset()
    receiver.clear()
    yield
    for pattern in ("breaker:*", "held:*", "probe:*", "watch:*", "balance:*"):
        keys = list(redis_client.scan_iter(match=prefix + pattern))
        if keys:
            redis_client.delete(*keys)


def states(producer: Producer, ids: list[str]) -> Counter[str]:
    return Counter(str(r.state) for r in producer.ledger.get_many(ids))


def test_credit_runs_out_mid_stream_pauses_then_resumes_after_top_up(
    producer: Producer, box: Sandbox, board: BreakerBoard, receiver: AlertReceiver, fleet: Fleet
) -> None:
    box.set_balance(wa=10.0)  # ten messages' worth
    ids = [producer.send_whatsapp(f"62812{i:08d}", f"order {i} shipped") for i in range(30)]

    assert wait_for(
        lambda: (
            states(producer, ids) == Counter({"sent": 10, "accepted": 20})
            and board.held_count("wa") == 20
        ),
        timeout=30,
    ), "ten sent, twenty held"
    assert board.is_paused("wa") and board.state("wa").reason == "credit"
    assert box.stats()["accepted_sends"] == 10
    # The beat probe asks for the balance (through the gate) and finds it still empty.
    assert wait_for(lambda: any(h["path"].endswith("/balance") for h in box.hits()), 20), (
        "a probe hit"
    )
    fleet.drain()  # the probe (and anything it set off) has run to its end
    assert states(producer, ids) == Counter({"sent": 10, "accepted": 20})
    assert len(receiver.kinds("breaker_opened")) == 1
    assert receiver.kinds("breaker_closed") == []

    box.set_balance(wa=1000.0)  # the top-up, through the sandbox's control API

    assert wait_for(lambda: states(producer, ids) == Counter({"sent": 30}), 30), "all thirty sent"
    assert wait_for(lambda: len(receiver.kinds("breaker_closed")) == 1, 10), "the recovery alert"
    stats = box.stats()
    assert stats["accepted_sends"] == 30 and stats["violations"] == 0
    assert sorted(m["destination"] for m in box.messages()) == sorted(
        r.destination for r in producer.ledger.get_many(ids)
    )  # each message sent exactly once
    opened, closed = receiver.kinds("breaker_opened"), receiver.kinds("breaker_closed")
    assert len(opened) == 1 and opened[0]["details"]["reason"] == "credit"
    assert closed[0]["details"]["requeued"] == 20 and closed[0]["details"]["resumed_by"] == "probe"
    assert not board.is_paused("wa") and board.held_count("wa") == 0
    assert receiver.forged == 0


def test_wrong_key_pauses_with_exactly_one_alert_and_resumes_when_fixed(
    producer: Producer, box: Sandbox, board: BreakerBoard, receiver: AlertReceiver, fleet: Fleet
) -> None:
    box.set_account(revoked=True)
    ids = [producer.send_whatsapp(f"62813{i:08d}", "hello") for i in range(12)]

    assert wait_for(lambda: board.held_count("wa") == 12, 30), "all twelve held"
    assert states(producer, ids) == Counter({"accepted": 12})
    sends = [h for h in box.hits() if h["path"].endswith("/whatsapp/message")]
    # Only the sends already in flight when the first 401 came back were tried.
    assert 1 <= len(sends) <= CONCURRENCY and all(h["status"] == 401 for h in sends)
    fleet.drain()  # every task that could alert has run to its end
    [alert] = receiver.alerts
    assert alert["kind"] == "breaker_opened" and alert["details"]["reason"] == "auth"
    assert "check" in alert["details"]["channels"]

    box.set_account(revoked=False)

    assert wait_for(lambda: states(producer, ids) == Counter({"sent": 12}), 30), "all twelve sent"
    assert wait_for(lambda: len(receiver.alerts) == 2, 10), "the recovery alert"
    assert [a["kind"] for a in receiver.alerts] == ["breaker_opened", "breaker_closed"]
    assert box.stats()["accepted_sends"] == 12


def test_thresholds_crossed_and_recovered_alert_exactly_once_each(
    producer: Producer, box: Sandbox, receiver: AlertReceiver, fleet: Fleet
) -> None:
    def watch_round() -> None:
        before = box.stats()["hits"]
        producer.app.send_task(WATCH_TASK, kwargs={"force": True})
        assert wait_for(lambda: box.stats()["hits"] >= before + 2, 20), "a watch round"
        fleet.drain()  # the round's alert (if any) follows its two hits, in the same task

    watch_round()
    box.set_balance(wa=60.0)
    for _ in range(3):
        watch_round()
    box.set_balance(wa=5000.0)
    for _ in range(3):
        watch_round()

    assert wait_for(lambda: len(receiver.alerts) >= 2, 10), "two alerts"
    assert [(a["kind"], a["details"]["balance_type"]) for a in receiver.alerts] == [
        ("balance_low", "wa"),
        ("balance_recovered", "wa"),
    ]
    assert receiver.alerts[0]["details"]["balance"] == 60.0


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_cli_pause_balance_resume_against_a_live_fleet(
    producer: Producer, box: Sandbox, board: BreakerBoard, env: dict[str, str],
    receiver: AlertReceiver,
) -> None:  # fmt: skip
    paused = cli(env, "pause", "sms")
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.strip() == "sms: paused"
    ids = [producer.send_sms(f"62815{i:08d}", f"sms {i}") for i in range(5)]
    assert wait_for(lambda: board.held_count("sms") == 5, 20), "five held"

    shown = cli(env, "balance", "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["breakers"]["sms"]["state"] == "open"
    assert report["breakers"]["sms"]["reason"] == "manual"
    assert report["breakers"]["sms"]["held"] == 5
    assert report["breakers"]["wa"]["state"] == "closed"
    assert report["balances"]["wa"]["balance"] == 1_000_000.0
    assert report["balances"]["sms_credits"]["expires"] == "2027-12-31"
    table = cli(env, "balance")
    assert "OPEN (manual)" in table.stdout and "sms_credits" in table.stdout

    resumed = cli(env, "resume", "sms")
    assert resumed.returncode == 0, resumed.stderr
    assert "sms: resumed" in resumed.stdout and "re-enqueued: 5" in resumed.stdout
    assert wait_for(lambda: states(producer, ids) == Counter({"sent": 5}), 20), "five sent"
    assert [a["kind"] for a in receiver.alerts] == ["breaker_opened", "breaker_closed"]
