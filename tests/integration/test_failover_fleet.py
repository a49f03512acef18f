"""Failover end to end: two NusaSMS accounts on one route, real `celery worker` (prefork, the
default pool) with embedded beat, the sandbox over HTTP.

Proves: the primary account's key is revoked mid-stream → its breaker opens and the rest of
the stream goes through the secondary, each message sent exactly once, by exactly one account
(the ledger and the provider agree on which); the primary back in order, traffic tends back.
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

from nusaworker.accounts import AccountTable
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

ACCOUNTS = [{"name": "backup", "credentials": {"api_key": "backup-key"}}]
ROUTES = {"wa": ["nusasms", "backup"]}
# The sandbox's names of the two accounts, and ours.
SANDBOX_NAME = {"main": "nusasms", "backup": "backup"}


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    made = f"nwtest:failover:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(redis_url, made)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=11, fail_rate=0.0) as running:
        running.add_account("backup", api_key="backup-key")
        yield running


@pytest.fixture(scope="module")
def env(redis_url: str, prefix: str, box: Sandbox) -> dict[str, str]:
    accounts = [{**a, "base_url": box.url} for a in ACCOUNTS]
    return fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        accounts=json.dumps(accounts),
        routes=json.dumps(ROUTES),
    )


@pytest.fixture(scope="module")
def fleet(env: dict[str, str]) -> Iterator[Fleet]:
    with Fleet(env) as running:
        schedule = Path(running.logdir) / "beat-schedule"
        running.start(
            "failover",
            "wa,sms,check,housekeeping",
            concurrency=2,
            pool=None,
            extra_args=("-B", "-s", str(schedule)),
        )
        yield running


@pytest.fixture
def producer(redis_url: str, prefix: str, box: Sandbox, fleet: Fleet) -> Producer:
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


def test_failover_settings_route_wa_through_both_accounts() -> None:
    table = AccountTable.from_settings(
        Settings(nusasms_api_key="test-key", accounts=ACCOUNTS, routes=ROUTES)
    )
    assert table.route("wa", "normal") == ("nusasms", "backup")


def routes_now(env: dict[str, str]) -> dict[str, Any]:
    """What ``nusaworker routes --json`` prints, run as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", "routes", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return {route["route"]: route for route in data["routes"]}


def test_failover_primary_revoked_mid_stream_the_secondary_sends_the_rest_once(
    producer: Producer, box: Sandbox, fleet: Fleet, env: dict[str, str]
) -> None:
    assert routes_now(env)["wa"]["now"] == "nusasms"
    first = [producer.send_whatsapp(f"62811{i:08d}", f"first {i}") for i in range(10)]
    assert wait_for(lambda: all(r.state == "sent" for r in producer.ledger.get_many(first)), 30)

    box.set_account(revoked=True)  # the primary's key stops working
    rest = [producer.send_whatsapp(f"62812{i:08d}", f"rest {i}") for i in range(30)]
    ids = first + rest

    assert wait_for(lambda: all(r.state == "sent" for r in producer.ledger.get_many(ids)), 60), (
        Counter(str(r.state) for r in producer.ledger.get_many(ids))
    )
    fleet.drain()
    records = producer.ledger.get_many(ids)
    sent = box.messages()
    # Each message reached the provider exactly once, through exactly one account …
    assert Counter(m["destination"] for m in sent) == Counter(r.destination for r in records)
    assert len(sent) == len(ids) == 40
    # … and the ledger names the account the provider saw.
    by_ref = {m["ref_no"]: SANDBOX_NAME[m["account"]] for m in sent}
    assert all(by_ref[r.ref_no] == r.account for r in records if r.ref_no)
    assert {r.account for r in producer.ledger.get_many(first)} == {"nusasms"}
    accounts = Counter(r.account for r in producer.ledger.get_many(rest))
    assert accounts["backup"] == 30, accounts  # a send refused by the primary went again
    assert box.stats()["violations"] == 0

    # The primary in order again: its probe closes the breaker and traffic tends back.
    refused = [h for h in box.hits(account="main") if h["status"] == 401]
    assert refused and not _breaker_closed(producer)  # the 401s opened the primary's breaker
    wa = routes_now(env)["wa"]
    assert (wa["now"], wa["paused"], wa["held"]) == ("backup", {"nusasms": "auth"}, False)
    box.set_account(revoked=False)
    assert wait_for(lambda: _breaker_closed(producer), 60), "the primary's probe"
    later = [producer.send_whatsapp(f"62813{i:08d}", f"later {i}") for i in range(5)]
    assert wait_for(lambda: all(r.state == "sent" for r in producer.ledger.get_many(later)), 30)
    assert {r.account for r in producer.ledger.get_many(later)} == {"nusasms"}


def _breaker_closed(producer: Producer) -> bool:
    client: redis.Redis = producer.ledger.redis
    return not any(client.scan_iter(match=producer.ledger.keys.breaker("*", "wa")))
