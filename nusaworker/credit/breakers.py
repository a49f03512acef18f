"""Circuit breakers per provider account and channel, kept in Redis for the whole fleet.

A breaker is one Redis string per (account, channel): absent means closed, present means open
and holds ``{"reason", "since", "error", "channel"}`` as JSON. So the hot-path question "may
this channel send?" is one ``GET`` (:meth:`BreakerBoard.is_paused`); the key has no TTL, since
a pause that ended by itself would send the queue back against an account nobody fixed.

Why a breaker opens, and what it pauses (:func:`trip_plan`, from the channel table's ``api``
and ``wallet`` columns: :func:`nusaworker.channels.pause_group`):

    AuthError (401/403; SMS -5, -40)         every channel of that account API:
                                             JSON API: wa, wa_media, wa_official,
                                             wa_official_reply, check; SMS v3: sms, sms_group
                                                                                 reason "auth"
    InsufficientCredit (402; SMS -2, -7)     every channel spending that wallet (+ the channel
                                             that hit it): WA credit: wa, wa_media,
                                             wa_official; SMS credit: sms, sms_group  "credit"
    ``nusaworker pause <channel>``           that channel                        reason "manual"

Opening is ``SET NX`` per key inside one MULTI: of any number of workers tripping over the
same failure at once, exactly one opens the breakers (and so sends the one alert).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis

from nusaworker.channels import NAMES, pause_group
from nusaworker.keys import Keys
from nusaworker.providers.errors import AuthError, InsufficientCredit
from nusaworker.redis_scripts import lua

__all__ = [
    "CHANNELS",
    "BreakerBoard",
    "BreakerState",
    "Reason",
    "is_paused",
    "parse_channels",
    "trip_plan",
]

Reason = Literal["auth", "credit", "manual"]

# The ledger's channels (the channel table's rows), each with a breaker of its own.
CHANNELS: tuple[str, ...] = NAMES


def trip_plan(channel: str, error: BaseException) -> tuple[tuple[str, ...], Reason] | None:
    """Which channels ``error``, met while sending on ``channel``, pauses, and why.

    ``None`` for an error that is not about the account (those never open a breaker).
    """
    if not isinstance(error, AuthError | InsufficientCredit):
        return None
    if isinstance(error, AuthError):
        return pause_group(channel, "auth"), "auth"
    return pause_group(channel, "credit"), "credit"


def parse_channels(names: Iterable[str]) -> tuple[str, ...]:
    """Channel names from a user (``all`` for every one); raises :class:`ValueError`."""
    chosen: list[str] = []
    for name in names:
        if name == "all":
            chosen.extend(CHANNELS)
        elif name in CHANNELS:
            chosen.append(name)
        else:
            raise ValueError(f"unknown channel {name!r} (one of: all, {', '.join(CHANNELS)})")
    return tuple(dict.fromkeys(chosen))


@dataclass(frozen=True)
class BreakerState:
    """One breaker: closed, or open since ``since`` (epoch seconds) for ``reason``."""

    channel: str
    open: bool
    reason: str | None = None
    since: float | None = None
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "channel": self.channel,
                "reason": self.reason,
                "since": self.since,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, channel: str, value: str | bytes | None) -> BreakerState:
        if value is None:
            return cls(channel=channel, open=False)
        try:
            data: dict[str, Any] = json.loads(value)
        except ValueError:
            data = {}  # an unreadable value is still an open breaker: fail safe, stay paused
        since = data.get("since")
        return cls(
            channel=channel,
            open=True,
            reason=str(data.get("reason") or "manual"),
            since=float(since) if isinstance(since, int | float) else None,
            error=data.get("error") if isinstance(data.get("error"), str) else None,
        )


class BreakerBoard:
    """The breakers of one provider account (its fingerprint, never a credential), in Redis.

    State only: no alerts, no re-enqueueing (see :mod:`nusaworker.credit.circuit`).
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        account: str,
        keys: Keys | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis_client
        self.account = account
        self.keys = keys or Keys()
        self.clock = clock
        self._close = redis_client.register_script(lua("nusaworker.credit", "close_breakers"))

    def __repr__(self) -> str:
        return f"BreakerBoard(account={self.account!r})"

    def key(self, channel: str) -> str:
        """The Redis key of ``channel``'s breaker."""
        return self.keys.breaker(self.account, channel)

    def is_paused(self, channel: str) -> bool:
        """Whether ``channel`` is paused: one Redis round trip, cheap enough for every task."""
        return is_paused(self.redis, self.keys, self.account, channel)

    def state(self, channel: str) -> BreakerState:
        """The breaker of ``channel``."""
        return BreakerState.from_json(channel, self.redis.get(self.key(channel)))

    def states(self, channels: Sequence[str] = CHANNELS) -> dict[str, BreakerState]:
        """The breakers of ``channels`` (default: all), one ``MGET``."""
        values = self.redis.mget([self.key(c) for c in channels])
        return {c: BreakerState.from_json(c, v) for c, v in zip(channels, values, strict=True)}

    def open(
        self, channels: Sequence[str], reason: Reason, *, error: str | None = None
    ) -> list[str]:
        """Open the breakers of ``channels``; returns those this call opened (not already open).

        Atomic as a whole (MULTI): concurrent callers never both open part of one group.
        """
        now = self.clock()
        pipe = self.redis.pipeline(transaction=True)
        for channel in channels:
            state = BreakerState(channel, True, reason=reason, since=now, error=error)
            pipe.set(self.key(channel), state.to_json(), nx=True)
        results = pipe.execute()
        return [c for c, done in zip(channels, results, strict=True) if done]

    def close(
        self, channels: Sequence[str], *, reasons: Iterable[str] | None = None
    ) -> list[BreakerState]:
        """Close the breakers of ``channels`` open for one of ``reasons`` (``None``: any).

        Returns the states this call closed (as they were while open), atomically: of two
        concurrent closers each breaker is reported closed by exactly one.
        """
        if not channels:
            return []
        allowed = "*" if reasons is None else " ".join(reasons)
        found = self._close(keys=[self.key(c) for c in channels], args=[allowed])
        closed = []
        for i in range(0, len(found), 2):
            channel = channels[int(found[i]) - 1]
            closed.append(BreakerState.from_json(channel, found[i + 1]))
        return closed

    def try_probe_slot(self, interval_s: float) -> bool:
        """Whether this caller may probe now: at most one probe per ``interval_s``, fleet-wide."""
        ttl_ms = max(1, int(interval_s * 1000))
        return bool(self.redis.set(self.keys.probe_lock(self.account), "1", nx=True, px=ttl_ms))

    def held_key(self, channel: str) -> str:
        """The Redis set of the ids held (parked) while ``channel`` is paused."""
        return self.keys.held(self.account, channel)

    def held_count(self, channel: str) -> int:
        """How many messages of ``channel`` are held, waiting for its breaker to close."""
        return int(self.redis.scard(self.held_key(channel)))

    def held_counts(self, channels: Sequence[str] = CHANNELS) -> dict[str, int]:
        """:meth:`held_count` of every channel, one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for channel in channels:
            pipe.scard(self.held_key(channel))
        return {c: int(n) for c, n in zip(channels, pipe.execute(), strict=True)}


def is_paused(redis_client: redis.Redis, keys: Keys, account: str, channel: str) -> bool:
    """Whether ``channel`` of ``account`` is paused; one ``EXISTS``, no board needed.

    For sweeps that re-enqueue work (the replay of stuck records): skip a paused channel.
    """
    return bool(redis_client.exists(keys.breaker(account, channel)))
