"""The poll budget: status polls take at most a set share of an account's hits, fleet-wide.

The provider allows one hit per ``min_interval_ms`` per account (20/s), sends and polls
together. With ``poll_share = 0.2`` polls may start at most 4 times a second, spread evenly,
whatever the number of workers polling: the budget is one Redis key per account
(``lua/budget.lua``, on the Redis server's clock). A poll then still takes a pacing slot like
any hit, at ``bulk`` priority, so it never jumps ahead of a waiting send.

:class:`PollGate` puts both in front of a provider client: every hit of a client built with
it — retries included — first takes a poll token, then a pacing slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from nusaworker.errors import ConfigurationError, GateUnavailable
from nusaworker.keys import POLL_BUDGET_TTL_S, Keys
from nusaworker.providers.gate import Gate
from nusaworker.redis_scripts import lua
from nusaworker.tracking.errors import PollBudgetTimeout
from nusaworker.types import OnGrant, Priority, Turn

# A poll that cannot get a token within this long gives up (the record is polled later):
# a worker thread must not sit on a budget that other pollers keep taking.
DEFAULT_MAX_WAIT_S = 10.0


def polls_per_second(share: float, min_interval_ms: float) -> float:
    """The poll rate a share of the account's budget allows (``0.2`` of 20/s → 4/s)."""
    if not min_interval_ms > 0:
        raise ConfigurationError("min_interval_ms must be positive")
    return max(0.0, share) * 1000.0 / min_interval_ms


class PollBudget:
    """At most ``rate`` poll starts per second per account, for the whole fleet."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        rate: float,
        keys: Keys,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis_client
        self.rate = rate
        self.keys = keys
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self._clock = clock
        self._take = redis_client.register_script(lua("nusaworker.tracking", "budget"))

    @property
    def interval_us(self) -> int:
        """Distance between two poll starts, µs (0 when polling is switched off)."""
        return round(1_000_000 / self.rate) if self.rate > 0 else 0

    def try_take(self, account: str) -> float:
        """Book a poll for now if the budget allows: ``0.0``, else seconds until it may.

        Raises :class:`~nusaworker.errors.GateUnavailable` when Redis does not answer, and
        :class:`~nusaworker.tracking.errors.PollBudgetTimeout` when polling is switched off.
        """
        if self.rate <= 0:
            raise PollBudgetTimeout("status polling is switched off (poll_share = 0)")
        try:
            wait_us = self._take(
                keys=[self.keys.poll_budget(account)],
                args=[self.interval_us, POLL_BUDGET_TTL_S * 1000],
            )
        except (redis.RedisError, OSError) as exc:
            raise GateUnavailable(f"poll budget unavailable ({type(exc).__name__})") from exc
        return int(wait_us) / 1_000_000

    def take(self, account: str) -> None:
        """Block until a poll may start for ``account`` (booked), or raise after ``max_wait_s``."""
        deadline = self._clock() + self.max_wait_s
        while True:
            wait = self.try_take(account)
            if wait <= 0:
                return
            if self._clock() + wait > deadline:
                raise PollBudgetTimeout(
                    f"no poll budget for {account} within {self.max_wait_s:.0f}s"
                )
            self._sleep(wait)


class PollGate:
    """A :class:`~nusaworker.providers.gate.Gate` for status polls: a token, then a slot.

    The priority asked for by the client is ignored: polls always queue as ``bulk``.
    """

    def __init__(self, inner: Gate, budget: PollBudget) -> None:
        self.inner = inner
        self.budget = budget

    def acquire(
        self, account: str, *, priority: Priority = "normal", on_grant: OnGrant | None = None
    ) -> Turn:
        self.budget.take(account)
        return self.inner.acquire(account, priority="bulk", on_grant=on_grant)

    def penalize(self, account: str, seconds: float) -> None:
        self.inner.penalize(account, seconds)
