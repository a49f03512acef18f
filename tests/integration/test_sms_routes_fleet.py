"""SMS through the carrier HTTP API (SmartSwitch, seed 003) and the Android gateway
(SmsGateway24, seed 004), each through the whole fleet, and failover from one to the other.
Real `celery worker` (the fleet's default pool) with embedded beat, the sandbox over HTTP.
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

# OTPs by SMS go out through the phone; other SMS prefer the carrier, then the phone.
ROUTES = {"sms": ["carrier", "phone"], "sms:otp": ["phone"]}
FINAL = {"delivered", "read", "failed"}


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    made = f"nwtest:smsroutes:{uuid.uuid4().hex[:8]}:"
    yield made
    delete_prefix(redis_url, made)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=9, fail_rate=0.0, status_step_s=0.3) as running:
        running.smartswitch("carrier", login="carrier-login", password="carrier-pass")
        running.smsgateway24().set_login("phone", email="ops@example.com", password="phone-pass")
        yield running


@pytest.fixture(scope="module")
def fleet(redis_url: str, prefix: str, box: Sandbox) -> Iterator[Fleet]:
    accounts = [
        {
            "name": "carrier",
            "provider": "smartswitch",
            "base_url": box.url,
            "credentials": {"login": "carrier-login", "password": "carrier-pass"},
        },
        {
            "name": "phone",
            "provider": "smsgateway24",
            "base_url": box.url,
            "credentials": {"email": "ops@example.com", "password": "phone-pass"},
        },
    ]
    env = fleet_env(
        redis_url=redis_url,
        key_prefix=prefix,
        base_url=box.url,
        accounts=json.dumps(accounts),
        routes=json.dumps(ROUTES),
    )
    with Fleet(env) as running:
        schedule = Path(running.logdir) / "beat-schedule"
        running.start(
            "smsroutes",
            "otp,wa,sms,check,status,housekeeping",
            concurrency=2,
            pool=None,
            extra_args=("-B", "-s", str(schedule)),
        )
        yield running


@pytest.fixture
def producer(redis_url: str, prefix: str, box: Sandbox, fleet: Fleet) -> Producer:
    # No box.reset(): it would forget the phone's login. Each test uses its own numbers.
    return Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url)
    )


def states(producer: Producer, ids: list[str]) -> Counter[str]:
    return Counter(str(r.state) for r in producer.ledger.get_many(ids))


def test_sms_routes_otp_through_the_android_gateway_polled_to_delivered(
    producer: Producer, box: Sandbox
) -> None:
    ids = [producer.send_sms(f"62816{i:08d}", f"code {i}", priority="otp") for i in range(5)]

    assert wait_for(lambda: set(states(producer, ids)) <= FINAL, 60), states(producer, ids)
    records = producer.ledger.get_many(ids)
    assert {str(r.state) for r in records} == {"delivered"}
    assert {r.account for r in records} == {"phone"}
    on_phone = box.smsgateway24().messages("phone")
    assert Counter(m["sendto"] for m in on_phone) == Counter(r.destination for r in records)
    assert {str(m["id"]) for m in on_phone} == {r.ref_no for r in records}
    assert all(m.get("urgent") in (1, "1", True) for m in on_phone)  # OTPs jump the phone's queue


def test_sms_routes_carrier_sends_with_the_message_id_as_request_id(
    producer: Producer, box: Sandbox
) -> None:
    ids = [producer.send_sms(f"62817{i:08d}", f"notice {i}") for i in range(8)]

    assert wait_for(lambda: states(producer, ids) == Counter({"sent": 8}), 60), states(
        producer, ids
    )
    records = producer.ledger.get_many(ids)
    assert {r.account for r in records} == {"carrier"}
    sent = [m for m in box.smartswitch("carrier")["sent"] if m["body"].startswith("notice")]
    assert sorted(m["request_id"] for m in sent) == sorted(ids)
    assert Counter(m["destination_number"] for m in sent) == Counter(r.destination for r in records)
    assert box.stats()["violations"] == 0


def test_sms_routes_carrier_refused_fails_over_to_the_phone_each_message_once(
    producer: Producer, box: Sandbox, fleet: Fleet
) -> None:
    first = [producer.send_sms(f"62818{i:08d}", f"first {i}") for i in range(5)]
    assert wait_for(lambda: states(producer, first) == Counter({"sent": 5}), 60)

    box.set_account("carrier", revoked=True)  # the carrier refuses the login from now on
    rest = [producer.send_sms(f"62819{i:08d}", f"rest {i}") for i in range(15)]

    assert wait_for(lambda: "accepted" not in states(producer, rest), 60), states(producer, rest)
    fleet.drain()
    records = producer.ledger.get_many(first + rest)
    by_account = Counter(r.account for r in records)
    assert by_account == Counter({"carrier": 5, "phone": 15}), by_account
    ours = {r.destination for r in records}
    carrier = [
        m["destination_number"]
        for m in box.smartswitch("carrier")["sent"]
        if m["destination_number"] in ours
    ]
    phone = [m["sendto"] for m in box.smsgateway24().messages("phone") if m["sendto"] in ours]
    # Each message reached exactly one provider, exactly once.
    assert Counter(carrier + phone) == Counter(r.destination for r in records)
    assert not set(carrier) & set(phone)
