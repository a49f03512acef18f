"""The figures of the status page, read from Redis in a handful of round trips.

Everything comes from what the fleet already keeps (no process memory, so any receiver shows
the whole fleet): the causal gate's turn hashes (:mod:`nusaworker.pacing.readout`), the broker's
queue lists, the campaigns' hashes, the balance watch's last snapshot and the breaker keys, the
dead-letter stream. Nothing here calls a provider. No secret is read or returned: accounts are
shown by their names (their pacing fingerprints stay inside), destinations masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

import celeryconfig
from nusaworker.accounts import AccountTable
from nusaworker.campaigns.api import store_of
from nusaworker.campaigns.store import CampaignStore
from nusaworker.credit.balance import BalanceSnapshot, evaluate
from nusaworker.credit.breakers import CHANNELS, BreakerBoard
from nusaworker.credit.clock import provider_today
from nusaworker.factories import account_client
from nusaworker.keys import Keys
from nusaworker.ledger.dead import DeadLetters
from nusaworker.metrics.fleet import UNACKED, priority_lists
from nusaworker.pacing.readout import read_paces
from nusaworker.routing import BROKER_PRIORITY, QUEUES
from nusaworker.settings import Settings
from nusaworker.tracking.deadletters import mask

__all__ = ["PRIORITY_NAMES", "AccountView", "StatusBoard"]

# Kombu's Redis transport keeps each queue as one list per priority step (celeryconfig), named
# as nusaworker.metrics.fleet.priority_lists says (the metrics read the same lists).
_TRANSPORT: Mapping[str, Any] = celeryconfig.broker_transport_options
PRIORITY_STEPS: tuple[int, ...] = tuple(_TRANSPORT["priority_steps"])
_STEP_NAMES = {step: name for name, step in BROKER_PRIORITY.items()}
# How the page names each sub-list: otp, normal, bulk, and the unused last step by its number.
PRIORITY_NAMES: tuple[str, ...] = tuple(_STEP_NAMES.get(s, str(s)) for s in PRIORITY_STEPS)
REASON_WIDTH = 160


@dataclass(frozen=True)
class AccountView:
    """An account as the page shows it; ``fingerprint`` keys its gate, breakers, balances."""

    name: str
    provider: str
    min_interval_ms: float
    fingerprint: str


class StatusBoard:
    """Reads the status figures of one fleet (its Redis and key prefix); see :meth:`read`."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        accounts: Sequence[AccountView],
        campaigns: CampaignStore,
        thresholds: Mapping[str, float],
        expiry_days: int,
        clock: Callable[[], float] = time.time,
        campaign_limit: int = 10,
        failure_limit: int = 10,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.accounts = list(accounts)
        self.campaigns = campaigns
        self.dead = DeadLetters(redis_client, keys=keys)
        self.thresholds = dict(thresholds)
        self.expiry_days = expiry_days
        self.clock = clock
        self.campaign_limit = campaign_limit
        self.failure_limit = failure_limit
        self.boards = [
            BreakerBoard(redis_client, account=view.fingerprint, keys=keys) for view in accounts
        ]

    @classmethod
    def from_settings(cls, settings: Settings, redis_client: redis.Redis) -> StatusBoard:
        """The board of the fleet ``settings`` describe; building each account's client
        learns its fingerprint (no hit is made)."""
        views = []
        for account in AccountTable.from_settings(settings).accounts.values():
            with account_client(settings, account) as client:
                fingerprint = str(client.account)
            views.append(
                AccountView(account.name, account.provider, account.min_interval_ms, fingerprint)
            )
        return cls(
            redis_client,
            keys=Keys(prefix=settings.key_prefix),
            accounts=views,
            campaigns=store_of(redis_client, settings),
            thresholds=settings.balance_thresholds,
            expiry_days=settings.balance_expiry_days,
        )

    def read(self) -> dict[str, Any]:
        """Every figure of the page, JSON-ready (what ``/status.json`` answers)."""
        queues, unacked = self.queues()
        return {
            "at": self.clock(),
            "accounts": self.gate(),
            "queues": queues,
            "unacked": unacked,
            "campaigns": self.campaign_progress(),
            "credit": self.credit(),
            "failures": self.failures(),
            "failures_kept": self.dead.count(),
        }

    def gate(self) -> list[dict[str, Any]]:
        """Per account: hits/s over the last second against its rule, and the gate's state."""
        readings = read_paces(self.redis, self.keys, [a.fingerprint for a in self.accounts])
        out = []
        for view, reading in zip(self.accounts, readings, strict=True):
            rule = 1000.0 / view.min_interval_ms
            out.append(
                {
                    "name": view.name,
                    "provider": view.provider,
                    "rule_per_s": round(rule, 2),
                    "hits_per_s": round(reading.hits_per_s, 2),
                    "utilisation": round(reading.hits_per_s / rule, 3),
                    "hits": reading.hits,
                    "waiting": reading.waiting,
                    "busy": reading.busy,
                    "last_hit_age_s": None
                    if reading.last_hit_age_s is None
                    else round(reading.last_hit_age_s, 3),
                }
            )
        return out

    def queues(self) -> tuple[list[dict[str, Any]], int]:
        """Each queue's depth and its priority sub-lists, and the unacknowledged count, as
        one snapshot (a MULTI)."""
        sep = str(_TRANSPORT.get("sep", ":"))
        pipe = self.redis.pipeline(transaction=True)
        for queue in QUEUES:
            for _, name in priority_lists(queue, PRIORITY_STEPS, sep):
                pipe.llen(self.keys.prefix + name)
        pipe.hlen(self.keys.prefix + UNACKED)
        *lengths, unacked = pipe.execute()
        out = []
        for i, queue in enumerate(QUEUES):
            counts = lengths[i * len(PRIORITY_STEPS) : (i + 1) * len(PRIORITY_STEPS)]
            out.append(
                {
                    "name": queue,
                    "depth": sum(counts),
                    "priorities": {
                        _STEP_NAMES.get(step, str(step)): int(n)
                        for step, n in zip(PRIORITY_STEPS, counts, strict=True)
                    },
                }
            )
        return out, int(unacked)

    def campaign_progress(self) -> list[dict[str, Any]]:
        """The newest campaigns: state and how many of their rows are done (sent or further)."""
        out = []
        for info in self.campaigns.load_many(self.campaigns.listing(self.campaign_limit)):
            out.append(
                {
                    "id": info.id,
                    "name": info.spec.name,
                    "channel": info.spec.channel,
                    "state": info.state.value,
                    "rows": info.rows,
                    "dispatched": info.cursor,
                    "done": info.done,
                    "percent": 100 if info.rows <= 0 else int(100 * info.done / info.rows),
                    "messages": dict(sorted(info.messages.items())),
                    "skipped": sum(info.skipped.values()),
                }
            )
        return out

    def credit(self) -> list[dict[str, Any]]:
        """Per account: the balance watch's last snapshot against the thresholds, and its
        open breakers (with the messages they hold)."""
        out = []
        for view, board in zip(self.accounts, self.boards, strict=True):
            raw = self.redis.get(self.keys.balance(view.fingerprint))
            snapshot = None if raw is None else BalanceSnapshot.from_json(raw)
            states, held = board.states(CHANNELS), board.held_counts(CHANNELS)
            out.append(
                {
                    "account": view.name,
                    "read_at": None if snapshot is None else snapshot.at,
                    "balances": self._balances(snapshot),
                    "breakers": [
                        {
                            "channel": channel,
                            "reason": state.reason,
                            "since": state.since,
                            "held": held.get(channel, 0),
                        }
                        for channel, state in states.items()
                        if state.open
                    ],
                }
            )
        return out

    def _balances(self, snapshot: BalanceSnapshot | None) -> list[dict[str, Any]]:
        if snapshot is None:
            return []
        today = provider_today(self.clock())
        levels = evaluate(snapshot, self.thresholds, self.expiry_days, today)
        return [
            {
                "type": kind,
                "balance": value,
                "threshold": self.thresholds.get(kind),
                "low": levels.get(f"low:{kind}") == "low",
                "expires": None
                if kind not in snapshot.expiry
                else snapshot.expiry[kind].isoformat(),
            }
            for kind, value in sorted(snapshot.balances.items())
        ]

    def failures(self) -> list[dict[str, Any]]:
        """The newest dead letters with their reasons, destinations masked."""
        out = []
        # Read a page of about what is shown, not the listing's 500: the page asks every 2 s.
        for letter in self.dead.newest(limit=self.failure_limit, page=2 * self.failure_limit):
            reason = " ".join((letter.error or "").split())
            out.append(
                {
                    "at": letter.at,
                    "id": letter.message_id,
                    "channel": letter.channel,
                    "destination": mask(letter.destination),
                    "state": letter.state,
                    "reason": reason[:REASON_WIDTH],
                }
            )
        return out
