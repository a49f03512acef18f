"""Failover: which account of a route sends a message now.

A route (:mod:`nusaworker.accounts`) is an ordered list of accounts. At send time the first
account that is neither paused (its circuit breaker for the channel is open: auth, credit or a
manual pause, :mod:`nusaworker.credit`) nor *degraded* sends; traffic tends back to the primary
by itself, because every message asks again and the primary's breaker closes (its probe) and its
errors age out of the window.

*Degraded* (for a channel): the account met ``threshold`` transient errors (429, 5xx, dropped
connections — each of the client's retries counts) sending that channel within ``window_s``
(GOV.UK Notify moves traffic at 50 errors in 60 s) — counted per channel, so one endpoint
down (say WhatsApp Official answering 503) does not move the account's other channels — or
the account delivers slowly: of the messages it sent within the slow window (15
min) that are at least ``slow_after_s`` (5 min) old, at least ``slow_share`` (15 %) are still
``sent`` — not delivered, read or failed (Notify's rule). The errors are one sorted set per
account; the sends one more (only channels whose provider reports delivery); beat judges the
slowness every 30 s (:meth:`AccountHealth.assess`) and leaves its verdict in one key, so a
send reads two keys per account of its route, in one round trip.

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
from nusaworker.channels import channel as channel_row
from nusaworker.delivery.guard import ChannelGuard, Via
from nusaworker.keys import ACCOUNT_SENT_TTL_S, Keys
from nusaworker.providers.registry import provider_family
from nusaworker.redis_scripts import as_text
from nusaworker.settings import Settings

# The beat entry of the slow-delivery judgement (merged into beat_schedule by nusaworker.celery).
ASSESS_TASK = "nusaworker.housekeeping.assess_accounts"
ASSESS_TICK_S = 30.0
SCHEDULE: dict[str, dict[str, Any]] = {
    "failover-assess-accounts": {
        "task": ASSESS_TASK,
        "schedule": ASSESS_TICK_S,
        "options": {"expires": ASSESS_TICK_S},
    },
}

__all__ = [
    "ASSESS_TASK",
    "SCHEDULE",
    "AccountHealth",
    "Assessment",
    "Choice",
    "RouteBook",
    "SlowRule",
    "choose",
    "health_of",
]


@dataclass(frozen=True)
class Choice:
    """The account chosen and why: ``held`` — every account of the route is paused."""

    account: str
    held: bool = False
    degraded: bool = False


def choose(
    route: Sequence[str], *, paused: Callable[[str], bool], degraded: Callable[[str], bool]
) -> Choice:
    """The account of ``route`` that sends now (pure: the checks are passed in; each answers
    for one account, for the channel being sent). ``degraded`` is asked only when there is a
    choice: a lone open account sends whatever its health (the one Redis round trip a send
    of a single-account route makes is its breaker's)."""
    if not route:
        raise ValueError("a route names at least one account")
    open_ = [name for name in route if not paused(name)]
    if not open_:
        return Choice(route[0], held=True)
    if len(open_) == 1:
        return Choice(open_[0])
    for name in open_:
        if not degraded(name):
            return Choice(name)
    return Choice(open_[0], degraded=True)


@dataclass(frozen=True)
class SlowRule:
    """When an account delivers too slowly (see the module docstring)."""

    share: float = 0.15
    after_s: float = 300.0
    window_s: float = 900.0
    min_sample: int = 20
    # A verdict lives two assessments; the most recent this many sends are judged (bounded
    # work per assessment at any volume).
    verdict_ttl_s: float = 60.0
    sample: int = 1000


@dataclass(frozen=True)
class Assessment:
    """One slowness judgement: of ``judged`` messages old enough, ``pending`` still ``sent``."""

    account: str
    judged: int
    pending: int
    slow: bool


class AccountHealth:
    """Transient errors and delivery speed per account, in Redis, fleet-wide."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        threshold: int,
        window_s: float,
        slow: SlowRule | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.threshold = threshold
        self.window_s = window_s
        self.slow = slow or SlowRule()
        self.clock = clock

    def sent(self, account: str, message_id: str) -> None:
        """Note that ``account`` sent ``message_id`` now (never raises: bookkeeping)."""
        now = self.clock()
        key = self.keys.account_sent(account)
        horizon = now - self.slow.window_s - self.slow.after_s
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(key, {message_id: now})
            pipe.zremrangebyscore(key, "-inf", horizon)
            pipe.expire(key, ACCOUNT_SENT_TTL_S)
            pipe.execute()
        except redis.RedisError:
            pass

    def assess(self, account: str, states: Callable[[list[str]], list[str | None]]) -> Assessment:
        """Judge ``account``'s delivery speed now and store the verdict. ``states`` reads the
        ledger states of message ids (``None``: the record is gone)."""
        now, rule = self.clock(), self.slow
        ids = [
            as_text(i)
            for i in self.redis.zrevrangebyscore(
                self.keys.account_sent(account),
                now - rule.after_s,
                now - rule.after_s - rule.window_s,
                start=0,
                num=rule.sample,
            )
        ]
        found = [s for s in states(ids) if s is not None]
        pending = sum(1 for s in found if s == "sent")
        slow = len(found) >= rule.min_sample and pending >= rule.share * len(found)
        key = self.keys.account_slow(account)
        if slow:
            self.redis.set(key, f"{pending}/{len(found)}", px=int(rule.verdict_ttl_s * 1000))
        else:
            self.redis.delete(key)
        return Assessment(account, len(found), pending, slow)

    def error(self, account: str, channel: str) -> None:
        """Count one transient error of ``account`` sending ``channel`` (never raises: it is
        bookkeeping)."""
        now = self.clock()
        key = self.keys.account_errors(account, channel)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
            pipe.zremrangebyscore(key, "-inf", now - self.window_s)
            pipe.expire(key, max(1, int(self.window_s) + 1))
            pipe.execute()
        except redis.RedisError:
            pass  # losing a count only delays a failover; the send path must not fail for it

    def errors(self, account: str, channel: str) -> int:
        """Errors of ``account`` sending ``channel`` within the window."""
        now = self.clock()
        key = self.keys.account_errors(account, channel)
        return int(self.redis.zcount(key, now - self.window_s, "+inf"))

    def degraded(self, account: str, channel: str) -> bool:
        """Whether ``account`` crossed the error threshold sending ``channel`` within the
        window, or beat found its delivery slow."""
        now = self.clock()
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zcount(self.keys.account_errors(account, channel), now - self.window_s, "+inf")
            pipe.exists(self.keys.account_slow(account))
            errors, slow = pipe.execute()
        except redis.RedisError:
            return False  # no health known: keep the route's order
        return int(errors) >= self.threshold or bool(slow)

    def is_slow(self, account: str) -> bool:
        """Whether beat's last verdict found ``account`` slow."""
        return bool(self.redis.exists(self.keys.account_slow(account)))


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
        # Accounts that share a route with another: only their delivery speed can move
        # traffic, so only their sends are noted (a single-account fleet notes none).
        self._alternated = {name for _, names in table.table() if len(names) > 1 for name in names}

    def via(self, channel: str, priority: str, pinned: str | None = None) -> Via:
        """The account that sends ``channel`` at ``priority`` now; ``pinned``: the account a
        message in doubt was sent by, which alone may send it again."""
        if pinned is not None and pinned in self.clients:
            return self._via(pinned)
        route = self.table.route(channel, priority)
        choice = choose(
            route,
            paused=lambda name: self.guards[name].is_paused(channel),
            degraded=lambda name: self.health.degraded(name, channel),
        )
        return self._via(choice.account, held=choice.held)

    def _via(self, name: str, *, held: bool = False) -> Via:
        provider = self.table.account(name).provider
        return Via(name, self.clients[name], self.guards[name], held=held, provider=provider)

    def error(self, account: str | None, channel: str) -> None:
        """Count a transient error of ``account`` sending ``channel`` towards its failover."""
        if account is not None:
            self.health.error(account, channel)

    def sent(self, account: str | None, message_id: str, channel: str) -> None:
        """Count a message ``account`` sent towards its delivery speed, if its delivery is
        ever reported (the channel is tracked and the provider reports it)."""
        if account not in self._alternated or not channel_row(channel).tracked:
            return
        if provider_family(self.table.account(account).provider).reports_delivery:
            self.health.sent(account, message_id)


def health_of(redis_client: redis.Redis, keys: Keys, settings: Settings) -> AccountHealth:
    """The account health the settings describe."""
    return AccountHealth(
        redis_client,
        keys=keys,
        threshold=settings.failover_error_threshold,
        window_s=settings.failover_error_window_s,
        slow=SlowRule(
            share=settings.failover_slow_share,
            after_s=settings.failover_slow_after_s,
            window_s=settings.failover_slow_window_s,
            min_sample=settings.failover_slow_min_sample,
        ),
    )
