"""Gauges of the fleet read from Redis at every scrape: queues, the ledger's states, the rules.

    nusaworker_queue_length{queue,priority}       messages waiting in each broker list: kombu's
        Redis transport keeps one list per priority step of a queue — ``<queue>`` for step 0,
        ``<queue><sep><step>`` for the others (``sep`` and ``priority_steps`` are the broker
        transport options of celeryconfig.py; ``wa``, ``wa:3``, ``wa:6``, ``wa:9``), all under
        the fleet's key prefix (kombu's ``global_keyprefix``)
    nusaworker_queue_unacked                      delivered to a worker, not acknowledged yet
    nusaworker_ledger_messages{state}             records in each state, as the ledger's moves
        counted them (final states: how many ever ended there; see ``Keys.state_counts``)
    nusaworker_account_max_hits_per_second{account}   each account's rule (1000 / its
        min_interval_ms): utilisation is ``rate(nusaworker_hits_total[1m])`` divided by it

One pipeline per scrape (an LLEN per list, an HLEN, an HGETALL): a few hundred µs of Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from nusaworker.keys import Keys
from nusaworker.ledger import MessageState
from nusaworker.redis_scripts import as_text

__all__ = ["UNACKED", "FleetCollector", "priority_lists"]

# Kombu's hash of delivered, unacknowledged messages (the Redis transport's ``unacked_key``).
UNACKED = "unacked"


def priority_lists(queue: str, steps: Sequence[int], sep: str) -> list[tuple[int, str]]:
    """The broker lists of ``queue``: (priority step, list name), as kombu names them — the
    queue itself for step 0 (or the lowest step), ``<queue><sep><step>`` for the others."""
    return [(step, f"{queue}{sep}{step}" if step else queue) for step in sorted(set(steps))]


class FleetCollector(Collector):
    """Reads queue depths, the ledger's state counts and the accounts' rules at each scrape."""

    def __init__(
        self,
        redis_client: redis.Redis,
        keys: Keys,
        *,
        queues: Iterable[str],
        priority_steps: Sequence[int] = (0, 3, 6, 9),
        sep: str = ":",
        rules_ms: Mapping[str, float] | None = None,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.lists = [
            (queue, step, keys.prefix + name)
            for queue in queues
            for step, name in priority_lists(queue, priority_steps, sep)
        ]
        self.rules_ms = dict(rules_ms or {})

    def collect(self) -> Iterator[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for _, _, key in self.lists:
            pipe.llen(key)
        pipe.hlen(self.keys.prefix + UNACKED)
        pipe.hgetall(self.keys.state_counts)
        *lengths, unacked, counts = pipe.execute()

        length = GaugeMetricFamily(
            "nusaworker_queue_length",
            "Messages waiting in a broker queue, per priority sub-list",
            labels=["queue", "priority"],
        )
        for (queue, step, _), n in zip(self.lists, lengths, strict=True):
            length.add_metric([queue, str(step)], int(n))
        yield length
        yield GaugeMetricFamily(
            "nusaworker_queue_unacked",
            "Messages delivered to a worker and not acknowledged yet",
            value=int(unacked),
        )

        states = GaugeMetricFamily(
            "nusaworker_ledger_messages",
            "Ledger records per state (final states: how many ever ended there)",
            labels=["state"],
        )
        known = {as_text(k): int(v) for k, v in counts.items()}
        for state in MessageState:
            states.add_metric([state.value], known.get(state.value, 0))
        yield states

        rule = GaugeMetricFamily(
            "nusaworker_account_max_hits_per_second",
            "The account's rate rule: at most this many hits per second",
            labels=["account"],
        )
        for account, interval_ms in sorted(self.rules_ms.items()):
            rule.add_metric([account], 1000.0 / interval_ms)
        yield rule
