"""Failover: which account of a route sends a message now.

A route (:mod:`nusaworker.accounts`) is an ordered list of accounts. At send time the first
account that is neither paused (its circuit breaker for the channel is open: auth, credit or a
manual pause, :mod:`nusaworker.credit`) nor *degraded* sends; traffic tends back to the primary
by itself, because every message asks again and the primary's breaker closes (its probe) and its
errors age out of the window.

*Degraded*: the account met ``threshold`` transient errors (429, 5xx, dropped connections —
each of the client's retries counts) within ``window_s`` (GOV.UK Notify moves traffic at 50
errors in 60 s). One sorted set per account in Redis, so the whole fleet sees the same counts.

When every account of the route is paused the message is held on the first (the existing
hold/resume of the credit breakers); when every unpaused one is degraded the first of them
sends anyway — a degraded route is better than no route.

A message is sent by one account only: once a hit of an account may have reached its provider
the record names that account (``Ledger.begin_hit``), and a resend in doubt goes through it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from nusaworker.accounts import AccountTable
from nusaworker.delivery.guard import ChannelGuard, Via
from nusaworker.keys import Keys

__all__ = ["AccountHealth", "Choice", "RouteBook", "choose"]


@dataclass(frozen=True)
class Choice:
    """The account chosen and why: ``held`` — every account of the route is paused."""

    account: str
    held: bool = False
    degraded: bool = False


def choose(
    route: Sequence[str], *, paused: Callable[[str], bool], degraded: Callable[[str], bool]
) -> Choice:
    """The account of ``route`` that sends now (pure: the checks are passed in)."""
    if not route:
        raise ValueError("a route names at least one account")
    open_ = [name for name in route if not paused(name)]
    if not open_:
        return Choice(route[0], held=True)
    for name in open_:
        if not degraded(name):
            return Choice(name)
    return Choice(open_[0], degraded=True)


class AccountHealth:
    """Transient errors per account over a sliding window, in Redis, fleet-wide."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        threshold: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.threshold = threshold
        self.window_s = window_s
        self.clock = clock

    def error(self, account: str) -> None:
        """Count one transient error of ``account`` (never raises: it is bookkeeping)."""
        now = self.clock()
        key = self.keys.account_errors(account)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
            pipe.zremrangebyscore(key, "-inf", now - self.window_s)
            pipe.expire(key, max(1, int(self.window_s) + 1))
            pipe.execute()
        except redis.RedisError:
            pass  # losing a count only delays a failover; the send path must not fail for it

    def errors(self, account: str) -> int:
        """Errors of ``account`` within the window."""
        now = self.clock()
        count = self.redis.zcount(self.keys.account_errors(account), now - self.window_s, "+inf")
        return int(count)

    def degraded(self, account: str) -> bool:
        """Whether ``account`` crossed the error threshold within the window."""
        try:
            return self.errors(account) >= self.threshold
        except redis.RedisError:
            return False  # no health known: keep the route's order


class RouteBook:
    """The routes of one process with their clients and guards: :meth:`via` picks one."""

    def __init__(
        self,
        table: AccountTable,
        *,
        clients: Mapping[str, Any],
        guards: Mapping[str, ChannelGuard[Any]],
        health: AccountHealth,
    ) -> None:
        self.table = table
        self.clients = dict(clients)
        self.guards = dict(guards)
        self.health = health

    def via(self, channel: str, priority: str, pinned: str | None = None) -> Via:
        """The account that sends ``channel`` at ``priority`` now; ``pinned``: the account a
        message in doubt was sent by, which alone may send it again."""
        if pinned is not None and pinned in self.clients:
            return self._via(pinned)
        route = self.table.route(channel, priority)
        choice = choose(
            route,
            paused=lambda name: self.guards[name].is_paused(channel),
            degraded=self.health.degraded,
        )
        return self._via(choice.account, held=choice.held)

    def _via(self, name: str, *, held: bool = False) -> Via:
        provider = self.table.account(name).provider
        return Via(name, self.clients[name], self.guards[name], held=held, provider=provider)

    def error(self, account: str | None) -> None:
        """Count a transient error of ``account`` towards its failover."""
        if account is not None:
            self.health.error(account)
