"""Every Redis client nusaworker makes, by role: one place for timeouts and retry policies.

=========== ============================================ =========================================
role        used by                                      policy, and why
=========== ============================================ =========================================
ledger      worker tasks (ledger, leases, breakers,      5 s socket timeout; a refused or dropped
            polls, events)                               connection is retried for about
                                                         ``LEDGER_RETRY_BUDGET_S``: a Redis restart
                                                         must not strand a record half-way (the
                                                         provider took a message, ``mark_sent``
                                                         could not write it). Every ledger script
                                                         is safe to run twice.
gate        the pacing gates                             0.5 s timeouts, one immediate retry: a
                                                         dead Redis fails the gate closed in a
                                                         fraction of a second, and a pooled
                                                         connection that died with a restarted
                                                         Redis is replaced without an error.
edge        producers, the callback receiver, the CLI,   5 s / 2 s timeouts, three quick retries
            heartbeats                                   (well under a second): a caller at the
                                                         edge (a web request, a provider's push)
                                                         gets an error soon rather than hanging,
                                                         and a restart costs no error.
=========== ============================================ =========================================
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

Role = Literal["ledger", "gate", "edge"]

# 0.2, 0.4, 0.8, 1.6, then 2 s apart: about 25 s of waiting for Redis to come back.
LEDGER_RETRIES = 15
LEDGER_RETRY_BUDGET_S = 25
GATE_SOCKET_TIMEOUT_S = 0.5
EDGE_RETRIES = 3


def redis_client(url: str, role: Role, *, timeout_s: float | None = None) -> redis.Redis:
    """A Redis client for ``url`` with the policy of ``role`` (see the table above);
    ``timeout_s`` overrides the role's socket timeouts."""
    if role == "gate":
        timeout = GATE_SOCKET_TIMEOUT_S if timeout_s is None else timeout_s
        return redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
    if role == "ledger":
        return redis.Redis.from_url(
            url,
            socket_timeout=5 if timeout_s is None else timeout_s,
            socket_connect_timeout=2,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), LEDGER_RETRIES),
            retry_on_error=[redis.ConnectionError],
        )
    return redis.Redis.from_url(
        url,
        socket_timeout=5 if timeout_s is None else timeout_s,
        socket_connect_timeout=2 if timeout_s is None else timeout_s,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), EDGE_RETRIES),
        retry_on_error=[redis.ConnectionError],
    )


def masked_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: what may be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class SecretURL(str):
    """A Redis URL that prints without its password: Celery shows configuration values by
    ``repr`` (``celery -A nusaworker report``, ``inspect conf``) and censors only the settings
    it knows (``broker_url``), not a plug-in's (celery-redbeat's ``redbeat_redis_url``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(masked_url(str(self)))
