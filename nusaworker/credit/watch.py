"""The balance watch: read the balances through the gate, store them, alert on crossings.

One round (:meth:`BalanceWatch.run`, from a beat job): NusaSMS ``balance`` and SMS ``command
CREDITS`` through the provider client (so through the pacing gate), a snapshot kept in Redis
for ``nusaworker balance`` and the metrics, the condition levels of :mod:`.balance` swapped
into Redis atomically — the previous levels come back from the same step — and one alert per
level that changed. Two watchers racing (two beats by mistake) still alert once: each change
is seen by exactly one swap. A credential refused here trips the breakers at once (the
channels pause before a single message is tried against a revoked key).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from nusaworker.credit.alerts import Alert, Alerter
from nusaworker.credit.balance import BalanceSnapshot, crossings, evaluate, snapshot_from
from nusaworker.credit.circuit import Circuit
from nusaworker.credit.clock import provider_today
from nusaworker.credit.wallets import WACHAT_QUOTA, family_of, wachat_quota
from nusaworker.errors import ConfigurationError, NusaWorkerError
from nusaworker.keys import BALANCE_SNAPSHOT_TTL_S, WATCH_LEVELS_TTL_S, Keys
from nusaworker.providers import Balance, SmsCredits
from nusaworker.providers.errors import AuthError
from nusaworker.redis_scripts import as_text

log = logging.getLogger(__name__)

__all__ = ["BalanceWatch", "WatchReport"]


@dataclass
class WatchReport:
    """What one watch round did (JSON-safe through :meth:`to_dict`)."""

    snapshot: BalanceSnapshot | None = None
    levels: dict[str, str] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "balances": dict(self.snapshot.balances) if self.snapshot else {},
            "levels": self.levels,
            "alerts": [a.title for a in self.alerts],
            "errors": self.errors,
            "skipped": self.skipped,
        }


class BalanceWatch:
    """Watches the balances of one account against ``thresholds`` and an expiry window."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        account: str,
        keys: Keys,
        alerter: Alerter,
        thresholds: Mapping[str, float],
        expiry_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis_client
        self.account = account
        self.keys = keys
        self.alerter = alerter
        self.thresholds = dict(thresholds)
        self.expiry_days = expiry_days
        self.clock = clock

    def run(
        self,
        client: Any,
        *,
        circuit: Circuit | None = None,
        interval_s: float | None = None,
        force: bool = False,
        today: dt.date | None = None,
    ) -> WatchReport:
        """One watch round; without ``force`` at most one per ``interval_s``, fleet-wide."""
        report = WatchReport()
        if not force and interval_s is not None and not self._take_turn(interval_s):
            report.skipped = "watched within the interval"
            return report
        snapshot = self._snapshot(client, circuit, report)
        if snapshot is None:
            return report
        now = snapshot.at
        report.snapshot = snapshot
        self.redis.set(
            self.keys.balance(self.account), snapshot.to_json(), ex=BALANCE_SNAPSHOT_TTL_S
        )
        day = today or provider_today(now)
        report.levels = evaluate(snapshot, self.thresholds, self.expiry_days, day)
        previous = self._swap(report.levels)
        report.alerts = crossings(
            previous, report.levels, snapshot, self.thresholds, self.expiry_days
        )
        for alert in report.alerts:
            self.alerter.send(alert)
        return report

    def _snapshot(
        self, client: Any, circuit: Circuit | None, report: WatchReport
    ) -> BalanceSnapshot | None:
        """Read what ``client``'s provider family offers (:mod:`.wallets`); ``None`` if
        nothing could be read."""
        if family_of(client) == "wachat":
            quota = self._read("wachat_quota", lambda: wachat_quota(client), "wa", circuit, report)
            if quota is None:
                return None
            return BalanceSnapshot(self.account, self.clock(), balances={WACHAT_QUOTA: quota})
        balance: Balance | None = self._read(
            "balance", lambda: client.get_balance(priority="normal"), "wa", circuit, report
        )
        credits: SmsCredits | None = self._read(
            "sms_credits", lambda: client.get_sms_credits(priority="normal"), "sms", circuit, report
        )
        if balance is None and credits is None:
            return None
        return snapshot_from(self.account, self.clock(), balance, credits)

    def _take_turn(self, interval_s: float) -> bool:
        ttl_ms = max(1, int(interval_s * 1000))
        return bool(self.redis.set(self.keys.watch_lock(self.account), "1", nx=True, px=ttl_ms))

    def _read(
        self,
        name: str,
        call: Callable[[], Any],
        channel: str,
        circuit: Circuit | None,
        report: WatchReport,
    ) -> Any:
        try:
            return call()
        except ConfigurationError:
            return None  # these credentials are not configured: nothing to watch there
        except AuthError as exc:
            report.errors[name] = f"{type(exc).__name__}: {exc}"
            if circuit is not None:
                circuit.trip(channel, exc)
        except NusaWorkerError as exc:
            report.errors[name] = f"{type(exc).__name__}: {exc}"
            log.warning("balance watch: %s call failed (%s)", name, report.errors[name])
        return None

    def _swap(self, levels: Mapping[str, str]) -> dict[str, str | None]:
        """Store ``levels``; the levels stored before, read in the same atomic step."""
        if not levels:
            return {}
        key = self.keys.watch_levels(self.account)
        names = sorted(levels)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hmget(key, names)
        pipe.hset(key, mapping={n: levels[n] for n in names})
        pipe.expire(key, WATCH_LEVELS_TTL_S)
        before = pipe.execute()[0]
        return {n: (None if v is None else as_text(v)) for n, v in zip(names, before, strict=True)}

    def last_snapshot(self) -> BalanceSnapshot | None:
        """The snapshot the last round stored, if any."""
        value = self.redis.get(self.keys.balance(self.account))
        return None if value is None else BalanceSnapshot.from_json(value)
