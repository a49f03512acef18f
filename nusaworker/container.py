"""One place where a worker process is wired: every object it has, in one constructor.

    Container.build(settings, send_task=app.send_task)
    ├── redis      the ledger's client (:mod:`nusaworker.connections`, role ``ledger``)
    ├── ledger     message records, claims, leases, schedules
    ├── gate       the fleet-wide pacing gate (its own client, role ``gate``)
    ├── client     the provider client, every hit through the gate and the ledger's fence
    ├── rules      retry budgets and validities per priority
    ├── credit     breakers, circuit (the send path's channel guard), balance watch, alerts
    └── tracking   status polls (a client of their own, same account), events, hooks

A worker builds it once per process — at ``worker_process_init`` in a prefork child, at
``worker_ready`` in a threads worker (:mod:`nusaworker.tasks.process`) — and every task reads
:func:`current`. Tests build a container directly from their own settings.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from nusaworker.credit.circuit import celery_enqueue
from nusaworker.credit.parts import Credit
from nusaworker.factories import PacingGate, keys_of, ledger_of, pacing_gate, provider_client
from nusaworker.fencing import FencedGate
from nusaworker.ledger import Ledger
from nusaworker.providers import NusaSMSClient
from nusaworker.retries import RetryRules
from nusaworker.settings import Settings
from nusaworker.tracking.parts import Tracking

log = logging.getLogger(__name__)

# A thread that wakes for its pacing turn must get the GIL at once, not after another thread's
# 5 ms default turn: every millisecond between the gate and the wire widens the account's gap.
GIL_SWITCH_INTERVAL_S = 0.0005


@dataclass
class Container:
    """Everything the tasks of one process need, built from settings."""

    settings: Settings
    redis: redis.Redis
    ledger: Ledger
    gate: PacingGate
    client: NusaSMSClient
    rules: RetryRules
    credit: Credit
    tracking: Tracking

    @classmethod
    def build(cls, settings: Settings, *, send_task: Callable[..., Any]) -> Container:
        """Wire a process for ``settings``; ``send_task`` hands tasks to the broker (a Celery
        app's ``send_task``: re-enqueued sends, polls, hooks)."""
        client_redis, ledger = ledger_of(settings, "ledger")
        gate = pacing_gate(settings, keys_of(settings))
        # The ledger's fence runs once the turn is committed (FencedGate): a hit of a record
        # that another worker took over never leaves.
        client = provider_client(settings, gate=FencedGate(gate))
        credit = Credit.build(
            settings,
            redis_client=client_redis,
            ledger=ledger,
            account=client.account,
            enqueue=celery_enqueue(send_task),
        )
        tracking = Tracking.build(
            settings,
            redis_client=client_redis,
            ledger=ledger,
            gate=gate,
            account=client.account,
            send_task=send_task,
            is_paused=credit.circuit.is_paused,
        )
        rules = RetryRules.from_settings(settings)
        return cls(settings, client_redis, ledger, gate, client, rules, credit, tracking)

    def warm_up(self, threads: int) -> None:
        """Open connections and learn Redis's clock before the first task needs a turn."""
        self.gate.warm_up(threads)

    def close(self) -> None:
        self.tracking.close()
        self.client.close()
        self.gate.close()
        self.redis.close()


_lock = threading.Lock()
_current: Container | None = None
# The process that built ``_current``: a prefork child forked after its parent built one
# (a replaced child) must not use the parent's sockets and gate threads, so it builds its own.
_built_in: int | None = None


def install(settings: Settings, send_task: Callable[..., Any]) -> Container:
    """Build this process's container (once per process; a second call returns the first)."""
    global _current, _built_in
    with _lock:
        if _current is None or _built_in != os.getpid():
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
            _current = Container.build(settings, send_task=send_task)
            _built_in = os.getpid()
        return _current


def current() -> Container:
    """This process's container. A worker installs it at start; a process that runs a task
    without that (a pool no signal covers) gets it built here, from the Celery app."""
    if _current is not None and _built_in == os.getpid():
        return _current
    from nusaworker.celery import app, settings

    log.warning("container built on first use, not at process start")
    return install(settings, app.send_task)


def built() -> Container | None:
    """This process's container if it built one, else ``None`` (nothing is built)."""
    return _current if _built_in == os.getpid() else None
