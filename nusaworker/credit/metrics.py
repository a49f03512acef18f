"""Gauges of balances and breakers, in the Prometheus text format.

Why ``prometheus-client``: it is the de-facto exposition format and library (text format,
HTTP endpoint, parser for tests) — writing that by hand would be code to maintain for nothing.

The values live in Redis (the watch's last snapshot, the breaker keys, the held sets), not in
process memory: any one process of the fleet exposes the fleet's truth, read at scrape time by
a custom collector, so there is no per-process gauge to aggregate and no multiprocess mode.

    nusaworker_balance{account,type}                       credit left (watch snapshot)
    nusaworker_balance_threshold{account,type}             the configured threshold
    nusaworker_balance_expiry_days{account,type}           days until the balance expires
    nusaworker_balance_snapshot_timestamp_seconds{account} when the snapshot was taken
    nusaworker_breaker_open{account,channel}               1 while the channel is paused
    nusaworker_breaker_open_since_timestamp_seconds{…}     since when (open breakers only)
    nusaworker_held_messages{account,channel}              messages held for the resume
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from nusaworker.credit.balance import days_left
from nusaworker.credit.breakers import CHANNELS, BreakerBoard
from nusaworker.credit.clock import provider_today
from nusaworker.credit.watch import BalanceWatch

__all__ = ["AccountCredit", "CreditCollector", "registry_for"]


@dataclass(frozen=True)
class AccountCredit:
    """One account's credit objects, and the name its gauges are labelled with."""

    name: str
    board: BreakerBoard
    watch: BalanceWatch


class CreditCollector(Collector):
    """Reads the credit gauges of one or several accounts from Redis at every scrape.

    One collector for all the accounts, so each family is written once (the text format
    refuses a family twice). The ``account`` label is each :class:`AccountCredit`'s name (the
    fleet's account names, as the send and gate metrics are labelled).
    """

    def __init__(
        self, accounts: Sequence[AccountCredit], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.accounts = list(accounts)
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        balance = GaugeMetricFamily(
            "nusaworker_balance", "Credit left, per balance type", labels=["account", "type"]
        )
        threshold = GaugeMetricFamily(
            "nusaworker_balance_threshold",
            "Alert threshold, per balance type",
            labels=["account", "type"],
        )
        expiry = GaugeMetricFamily(
            "nusaworker_balance_expiry_days",
            "Days until the balance expires (negative: expired)",
            labels=["account", "type"],
        )
        taken = GaugeMetricFamily(
            "nusaworker_balance_snapshot_timestamp_seconds",
            "When the balance watch last read the balances",
            labels=["account"],
        )
        is_open = GaugeMetricFamily(
            "nusaworker_breaker_open",
            "1 while the channel is paused by its circuit breaker",
            labels=["account", "channel", "reason"],
        )
        since = GaugeMetricFamily(
            "nusaworker_breaker_open_since_timestamp_seconds",
            "When the open breaker opened",
            labels=["account", "channel"],
        )
        held_gauge = GaugeMetricFamily(
            "nusaworker_held_messages",
            "Messages held while their channel is paused",
            labels=["account", "channel"],
        )
        today = provider_today(self.clock())
        for one in self.accounts:
            account = one.name
            for kind, value in sorted(one.watch.thresholds.items()):
                threshold.add_metric([account, kind], value)
            snapshot = one.watch.last_snapshot()
            if snapshot is not None:
                for kind, value in sorted(snapshot.balances.items()):
                    balance.add_metric([account, kind], value)
                for kind, date in sorted(snapshot.expiry.items()):
                    expiry.add_metric([account, kind], days_left(date, today))
                taken.add_metric([account], snapshot.at)
            states = one.board.states(CHANNELS)
            held = one.board.held_counts(CHANNELS)
            for channel in CHANNELS:
                state = states[channel]
                opened = 1.0 if state.open else 0.0
                is_open.add_metric([account, channel, state.reason or ""], opened)
                if state.open and state.since is not None:
                    since.add_metric([account, channel], state.since)
                held_gauge.add_metric([account, channel], held[channel])
        yield from (balance, threshold, expiry, taken, is_open, since, held_gauge)


def registry_for(collector: CreditCollector) -> CollectorRegistry:
    """A registry holding only ``collector`` (the process's default registry stays clean)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
