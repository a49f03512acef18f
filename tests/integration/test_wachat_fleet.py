"""WAChat through the whole fleet: producer → queue → paced hit → ledger → status polls → final
state, and failover between NusaSMS and WAChat accounts on one WhatsApp route. Real `celery
worker` (prefork, the default pool) with embedded beat, the sandbox over HTTP.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

KEY = "wachat-fleet-key"
SENDER = "gw1"
# OTPs go through WAChat alone; other WhatsApp traffic prefers NusaSMS and fails over to WAChat.
ROUTES = {"wa": ["nusasms", "wachat"], "wa:otp": ["wachat"]}
FINAL = {"delivered", "read", "failed", "aborted"}


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    made = f"nwtest:wachat:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(redis_url, made)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=5, fail_rate=0.0, status_step_s=0.3) as running:
        running.wachat.add_account("wachat", api_key=KEY, senders={SENDER: 10_000})
        yield running


@pytest.fixture(scope="module")
def fleet(redis_url: str, prefix: str, box: Sandbox) -> Iterator[Fleet]:
    account = {
        "name": "wachat",
        "provider": "wachat",
        "base_url": box.url,
        "credentials": {"api_key": KEY},
        "options": {"senders": SENDER},
    }
    env = fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        accounts=json.dumps([account]),
        routes=json.dumps(ROUTES),
    )
    with Fleet(env) as running:
        schedule = Path(running.logdir) / "beat-schedule"
        running.start(
            "wachat",
            "otp,wa,sms,check,status,housekeeping",
            concurrency=2,
            pool=None,
            extra_args=("-B", "-s", str(schedule)),
        )
        yield running


@pytest.fixture
def producer(redis_url: str, prefix: str, box: Sandbox, fleet: Fleet) -> Producer:
    box.reset()
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


def test_wachat_fleet_otps_are_sent_by_wachat_and_polled_to_their_final_state(
    producer: Producer, box: Sandbox
) -> None:
    ids = [
        producer.send_whatsapp(f"62814{i:08d}", f"code {i}", priority="otp", sender=SENDER)
        for i in range(6)
    ]

    assert wait_for(
        lambda: all(str(r.state) in FINAL for r in producer.ledger.get_many(ids)), 60
    ), Counter(str(r.state) for r in producer.ledger.get_many(ids))
    records = producer.ledger.get_many(ids)
    assert {r.account for r in records} == {"wachat"}
    sent = [m for m in box.messages() if m["ref_no"] in {r.ref_no for r in records}]
    assert Counter(m["destination"] for m in sent) == Counter(r.destination for r in records)
    assert {m["account"] for m in sent} == {"wachat"}
    assert all(r.provider_status for r in records)  # the provider's own letter, kept
    assert box.wachat.sender(SENDER, account="wachat")["counter"] == 6
    polls = [h for h in box.hits(account="wachat") if "/status/" in h["path"]]
    assert polls and box.stats()["violations"] == 0


def test_wachat_fleet_nusasms_out_of_credit_fails_over_to_wachat_each_message_once(
    producer: Producer, box: Sandbox, fleet: Fleet
) -> None:
    box.set_balance(wa=8.0)  # eight messages' worth on the NusaSMS account
    ids = [producer.send_whatsapp(f"62815{i:08d}", f"news {i}") for i in range(30)]

    assert wait_for(
        lambda: all(str(r.state) != "accepted" for r in producer.ledger.get_many(ids)), 60
    ), Counter(str(r.state) for r in producer.ledger.get_many(ids))
    fleet.drain()
    records = producer.ledger.get_many(ids)
    assert all(str(r.state) not in ("failed", "rejected", "unknown") for r in records)
    accounts = Counter(r.account for r in records)
    assert accounts == Counter({"nusasms": 8, "wachat": 22}), accounts
    sent = box.messages()
    # Every message reached exactly one provider account, exactly once.
    assert Counter(m["destination"] for m in sent) == Counter(r.destination for r in records)
    names = {"main": "nusasms", "wachat": "wachat"}
    by_ref = {m["ref_no"]: names[m["account"]] for m in sent}
    assert all(by_ref[r.ref_no] == r.account for r in records)
    assert box.stats()["violations"] == 0
