"""A Redis of our own dies and comes back: the gate fails closed, then recovers by itself."""

from __future__ import annotations

import time

import pytest

from nusaworker.errors import GateUnavailable
from nusaworker.keys import Keys
from nusaworker.pacing import RedisGate
from nusaworker.testing.redis_server import free_port, private_redis

pytestmark = pytest.mark.integration


def test_redisgate_fails_closed_while_redis_is_down_and_recovers_after_restart() -> None:
    port = free_port()
    with private_redis(port) as url:
        gate = RedisGate(url, keys=Keys(prefix="nwchaos:"))
        gate.acquire("acct")
        gate.acquire("acct")
    # The server is gone; the gate's pooled connection is dead.
    started = time.monotonic()
    with pytest.raises(GateUnavailable, match="no hit was made"):
        gate.acquire("acct")
    assert time.monotonic() - started < 2.0
    with private_redis(port):
        # A new, empty server: the scripts are reloaded and the account is free.
        gate.acquire("acct", priority="bulk")
        first = time.monotonic()
        gate.acquire("acct", priority="bulk")
        assert time.monotonic() - first >= 0.050
    gate.close()
    assert gate.stats.acquisitions == 4
    assert gate.stats.unavailable == 1
