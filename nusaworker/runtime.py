"""The objects one worker (or producer) process shares: Redis, ledger, pacing gate, client.

Built once per process from :class:`~nusaworker.settings.Settings` and reused by every task,
so that the provider client's connection pool and the Redis connection pool are shared.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from nusaworker.fencing import FencedGate
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger
from nusaworker.pacing import CausalGate, RedisGate
from nusaworker.pacing.causal import DEFAULT_SAFETY_MARGIN_MS as CAUSAL_SAFETY_MARGIN_MS
from nusaworker.providers import NusaSMSClient
from nusaworker.settings import Settings

# 0.2, 0.4, 0.8, 1.6, then 2 s apart: about 25 s of waiting for Redis to come back.
LEDGER_RETRIES = 15
LEDGER_RETRY_BUDGET_S = 25


def provider_client(settings: Settings, **options: Any) -> NusaSMSClient:
    """A NusaSMS client with the settings' endpoint, credentials and timeouts; ``options``
    (gate, max_attempts, account …) go to :class:`~nusaworker.providers.NusaSMSClient`."""
    return NusaSMSClient(
        base_url=settings.nusasms_base_url,
        api_key=settings.nusasms_api_key,
        sms_user=settings.nusasms_sms_user,
        sms_password=settings.nusasms_sms_password,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        **options,
    )


def pacing_gate(settings: Settings, keys: Keys) -> CausalGate | RedisGate:
    """The fleet-wide gate the settings choose (``pacing_gate``), with its own Redis client:
    short timeouts, so that a dead Redis fails the gate closed in a fraction of a second."""
    if settings.pacing_gate == "slots":
        options: dict[str, Any] = {}
        if settings.pacing_safety_margin_ms is not None:
            options["safety_margin_ms"] = settings.pacing_safety_margin_ms
        if settings.pacing_late_tolerance_ms is not None:
            options["late_tolerance_ms"] = settings.pacing_late_tolerance_ms
        return RedisGate(
            settings.redis_url, min_interval_ms=settings.min_interval_ms, keys=keys, **options
        )
    margin = settings.pacing_safety_margin_ms
    return CausalGate(
        settings.redis_url,
        min_interval_ms=settings.min_interval_ms,
        safety_margin_ms=CAUSAL_SAFETY_MARGIN_MS if margin is None else margin,
        lease_ms=settings.pacing_lease_ms,
        keys=keys,
    )


@dataclass
class Runtime:
    """Everything a task needs, built from settings."""

    settings: Settings
    redis: redis.Redis
    ledger: Ledger
    gate: CausalGate | RedisGate
    client: NusaSMSClient

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        keys = Keys(prefix=settings.key_prefix)
        # A Redis restart must not strand a record half-way (the provider took the message,
        # mark_sent could not write it): ledger writes wait out a refused or dropped connection
        # for about LEDGER_RETRY_BUDGET_S (redis-py's own retry). Every ledger script is safe
        # to run twice — a repeated move finds the record already moved and changes nothing.
        client_redis = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=5,
            socket_connect_timeout=2,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), LEDGER_RETRIES),
            retry_on_error=[redis.ConnectionError],
        )
        gate = pacing_gate(settings, keys)
        client = provider_client(settings, gate=FencedGate(gate))
        return cls(settings, client_redis, Ledger(client_redis, keys=keys), gate, client)

    def warm_up(self, threads: int) -> None:
        """Open connections and learn Redis's clock before the first task needs a slot."""
        self.gate.warm_up(threads)

    def close(self) -> None:
        self.client.close()
        self.gate.close()
        self.redis.close()


_lock = threading.Lock()
_runtime: Runtime | None = None


# A thread that wakes for its pacing slot must get the GIL at once, not after another thread's
# 5 ms default turn: every millisecond between the gate and the wire eats the safety margin.
GIL_SWITCH_INTERVAL_S = 0.0005


def runtime_if_built() -> Runtime | None:
    """This process's runtime if a task or the warm-up built it, else ``None``."""
    return _runtime


def get_runtime() -> Runtime:
    """This process's runtime, built on first use from the Celery app's settings."""
    global _runtime
    with _lock:
        if _runtime is None:
            from nusaworker.celery import settings

            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
            _runtime = Runtime.from_settings(settings)
        return _runtime
