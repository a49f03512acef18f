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

import re
from typing import Any, Literal
from urllib.parse import urlsplit

import redis
from pydantic import GetCoreSchemaHandler, SecretStr
from pydantic_core import core_schema
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

Role = Literal["ledger", "gate", "edge"]

# 0.2, 0.4, 0.8, 1.6, then 2 s apart: about 25 s of waiting for Redis to come back.
LEDGER_RETRIES = 15
LEDGER_RETRY_BUDGET_S = 25
GATE_SOCKET_TIMEOUT_S = 0.5
EDGE_RETRIES = 3


def redis_client(url: AnyRedisURL, role: Role, *, timeout_s: float | None = None) -> redis.Redis:
    """A Redis client for ``url`` with the policy of ``role`` (see the table above);
    ``timeout_s`` overrides the role's socket timeouts. ``rediss://`` URLs get TLS, with the
    certificate options of their query string (``ssl_cert_reqs``, ``ssl_ca_certs`` …) as
    redis-py reads them."""
    url = reveal(url)
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


def masked_url(url: AnyRedisURL) -> str:
    """``url`` with its password (if any) replaced by ``***``: what may be printed.

    Both places redis-py reads a password from are masked: the userinfo
    (``redis://user:pw@host``, ``redis://:pw@host``) and the ``password`` query parameter
    (``unix:///run/redis.sock?password=pw``). Split by hand, not by ``urlsplit``: its ``port``
    raises on a bad port (quoting the URL), and everything up to the last ``@`` before the
    query counts as userinfo, so a password with a stray ``/`` or ``@`` is masked whole.
    """
    text = reveal(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return _PASSWORD_PARAM.sub(lambda m: m.group(1) + MASK, text)
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    before, after = rest[:cut], rest[cut:]
    if "@" in before:
        userinfo, hostpath = before.rsplit("@", 1)
        if ":" in userinfo:
            before = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostpath}"
    after = _PASSWORD_PARAM.sub(lambda m: m.group(1) + MASK, after)
    return f"{scheme}{sep}{before}{after}"


MASK = "***"
_PASSWORD_PARAM = re.compile(r"(?i)([?&]password=)[^&#]*")
SCHEMES = ("redis", "rediss", "unix")


class RedisURL(SecretStr):
    """A Redis URL that may hold a password (``redis://:pw@host``, ``redis://user:pw@host``
    for an ACL user, ``rediss://`` for TLS): a secret that prints masked.

    ``str``, ``repr``, a settings repr and a JSON dump show :func:`masked_url`
    (``redis://:***@host:6379/0``); only :meth:`get_secret_value` gives the URL itself, and
    only the code that connects calls it (:func:`redis_client`, the Celery app's broker in
    :mod:`nusaworker.factories`). Its scheme is checked at once, so a typo fails when the
    settings are read, not at the first connection.
    """

    def __init__(self, secret_value: str) -> None:
        if urlsplit(secret_value).scheme not in SCHEMES:
            # Not even the scheme is quoted: "user:pw@host" (no scheme) reads as scheme "user".
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        super().__init__(secret_value)

    def _display(self) -> str:
        return masked_url(self.get_secret_value())

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # SecretStr's own schema reports any error of the constructor as "not a valid string";
        # this one lets the scheme's message through. Dumped, it is the masked URL.
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def _validate(cls, value: object) -> RedisURL:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise ValueError("a Redis URL is a string")
        return cls(value)


# What every function that connects takes: a plain URL (tests, tools) or the settings' secret.
AnyRedisURL = str | RedisURL


def reveal(url: AnyRedisURL) -> str:
    """The URL itself, to connect with; never to print (print :func:`masked_url` of it)."""
    return url.get_secret_value() if isinstance(url, RedisURL) else url


class SecretURL(str):
    """A Redis URL that prints without its password, where a ``str`` is needed: the Celery
    app's ``broker_url`` and celery-redbeat's ``redbeat_redis_url``. Celery censors the broker
    URL in its banner and ``celery report`` but not in its configuration's repr, and a
    plug-in's setting not at all; kombu and redbeat read the URL itself (it is a ``str``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(masked_url(str(self)))
