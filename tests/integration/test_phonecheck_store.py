"""The phone-check store against a real Redis: cache answers, the deduplicated pending set,
the atomic take (full batches, the linger, the cap), in-flight numbers, requeue; the callback
receiver filling the cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis
import requests

from nusaworker.keys import Keys
from nusaworker.phonecheck import InvalidCheckNumber, PhoneChecks, UnknownCheck
from nusaworker.settings import Settings
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

# A linger no test waits for: a partial batch stays put unless a test says otherwise.
NEVER = 3600.0


def numbers(start: int, count: int) -> list[str]:
    return [f"62811{i:08d}" for i in range(start, start + count)]


@pytest.fixture
def make_checks(redis_client: redis.Redis, key_prefix: str) -> Callable[..., PhoneChecks]:
    def factory(**options: Any) -> PhoneChecks:
        options.setdefault("linger_s", NEVER)
        return PhoneChecks(redis_client, keys=Keys(prefix=key_prefix), **options)

    return factory


def test_phonecheck_request_queues_each_number_once(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()

    first = checks.request(numbers(0, 30))
    again = checks.request(["+62 811-0000-0005", *numbers(20, 20)])

    assert set(first.values()) == {None}
    assert set(again.values()) == {None}
    assert checks.pending() == 40


def test_phonecheck_request_answers_cached_numbers_and_queues_none_of_them(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()
    checks.record({"6281100000001": True, "+6281100000002": False})

    got = checks.request(["6281100000001", "6281100000002", "6281100000003"])

    assert got == {"6281100000001": True, "6281100000002": False, "6281100000003": None}
    assert checks.pending() == 1


def test_phonecheck_request_refuses_a_bad_number_before_queueing_any(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()
    with pytest.raises(InvalidCheckNumber):
        checks.request(["6281100000001", "not-a-number"])
    assert checks.pending() == 0


def test_phonecheck_take_hands_out_full_batches_and_keeps_the_rest_for_the_linger(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()
    checks.request(numbers(0, 280))

    taken = checks.take()

    assert [len(b) for b in taken] == [100, 100]
    assert checks.pending() == 80
    assert checks.take() == []


def test_phonecheck_take_sends_a_partial_batch_once_it_lingered(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks(linger_s=0.0)
    checks.request(numbers(0, 130))

    taken = checks.take()

    assert [len(b) for b in taken] == [100, 30]
    assert checks.pending() == 0


def test_phonecheck_take_stops_at_the_cap(make_checks: Callable[..., PhoneChecks]) -> None:
    checks = make_checks(linger_s=0.0, max_per_run=200)
    checks.request(numbers(0, 450))

    assert [len(b) for b in checks.take()] == [100, 100]
    assert [len(b) for b in checks.take()] == [100, 100]
    assert [len(b) for b in checks.take()] == [50]


def test_phonecheck_numbers_in_flight_are_not_queued_again_until_answered(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()
    checks.request(numbers(0, 100))
    (batch,) = checks.take()

    checks.request(batch[:10])
    assert checks.pending() == 0

    checks.record(dict.fromkeys(batch, True))
    assert checks.request(batch[:10]) == dict.fromkeys(batch[:10], True)
    assert checks.pending() == 0


def test_phonecheck_record_takes_answered_numbers_off_the_queue(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()
    checks.request(numbers(0, 5))

    cached = checks.record({n: False for n in numbers(0, 5)} | {"12": True})

    assert cached == 5  # "12" is no number a check could ask for: skipped
    assert checks.pending() == 0
    assert checks.lookup(numbers(0, 5)) == dict.fromkeys(numbers(0, 5), False)


def test_phonecheck_record_sets_the_ttl(
    make_checks: Callable[..., PhoneChecks], redis_client: redis.Redis, key_prefix: str
) -> None:
    checks = make_checks(ttl_s=1234)
    checks.record({"6281100000001": True})
    assert 1200 < redis_client.ttl(Keys(prefix=key_prefix).phone_check("6281100000001")) <= 1234


def test_phonecheck_requeue_puts_numbers_back_first(
    make_checks: Callable[..., PhoneChecks],
) -> None:
    checks = make_checks()
    checks.request(numbers(0, 100))
    (batch,) = checks.take()
    checks.request(numbers(500, 100))

    checks.requeue(batch)

    (again, later) = checks.take()
    assert again == batch
    assert later == numbers(500, 100)


def test_phonecheck_two_dispatchers_never_take_one_number_twice(
    make_checks: Callable[..., PhoneChecks], redis_url: str, key_prefix: str
) -> None:
    checks = make_checks(linger_s=0.0, max_per_run=300)
    checks.request(numbers(0, 3000))
    clients = [redis.Redis.from_url(redis_url) for _ in range(4)]
    takers = [PhoneChecks(c, keys=Keys(prefix=key_prefix), linger_s=0.0) for c in clients]
    got: list[list[str]] = [[] for _ in takers]

    def run(i: int) -> None:
        while batch := takers[i].take():
            got[i].extend(n for b in batch for n in b)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(takers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()

    everything = [n for g in got for n in g]
    assert len(everything) == 3000
    assert set(everything) == set(numbers(0, 3000))


def test_phonecheck_check_id_names_its_numbers(make_checks: Callable[..., PhoneChecks]) -> None:
    checks = make_checks()
    check_id = checks.remember(["+62 811-0000-0001", "6281100000002"])
    checks.record({"6281100000001": True})

    assert checks.results(check_id) == {"6281100000001": True, "6281100000002": None}
    with pytest.raises(UnknownCheck):
        checks.results("pc-" + "0" * 32)
    with pytest.raises(UnknownCheck):
        checks.results("nw:anything")


def test_phonecheck_callback_receiver_fills_the_cache_whoever_asked(
    redis_url: str, key_prefix: str, make_checks: Callable[..., PhoneChecks]
) -> None:
    token = "phonecheck-receiver-token-0123456789"
    settings = Settings(redis_url=redis_url, key_prefix=key_prefix, callback_token=token)
    checks = make_checks()
    checks.request(["6281234567891"])
    push = {
        "phone_numbers": [
            {"phone_number": "6281234567891", "is_registered": True},
            {"phone_number": "6281234567890", "is_registered": False},  # nobody asked
        ]
    }

    app = create_app(settings)
    try:
        with CallbackServer(app) as server:
            answer = requests.post(f"{server.url}/{token}/wa/phone_check", json=push, timeout=5)
    finally:
        app.ledger.redis.close()

    assert answer.status_code == 200
    assert checks.lookup(["6281234567891", "6281234567890"]) == {
        "6281234567891": True,
        "6281234567890": False,
    }
    assert checks.pending() == 0
