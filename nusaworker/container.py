"""One place where a worker process is wired: every object it has, in one constructor.

    Container.build(settings, send_task=app.send_task)
    ├── redis      the ledger's client (:mod:`nusaworker.connections`, role ``ledger``)
    ├── ledger     message records, claims, leases, schedules
    ├── gates      the fleet-wide pacing gates, one per rate rule (own client, role ``gate``)
    ├── accounts   the provider accounts and routes (:mod:`nusaworker.accounts`), and per account
    │   ├── clients   its provider client, every hit through its gate and the ledger's fence
    │   └── credits   its breakers, circuit (the send path's channel guard), balance watch
    ├── routes     which account sends a message now (:mod:`nusaworker.failover`)
    ├── rules      retry budgets and validities per priority
    └── tracking   status polls (clients of their own, same accounts), events, hooks

``client``, ``gate`` and ``credit`` are the default account's (``nusasms``).

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

from nusaworker.accounts import AccountTable
from nusaworker.credit.alerts import Alerter
from nusaworker.credit.circuit import celery_enqueue
from nusaworker.credit.parts import Credit
from nusaworker.credit.sinks import build_sinks
from nusaworker.factories import PacingGate, account_client, keys_of, ledger_of, pacing_gate
from nusaworker.failover import RouteBook, health_of
from nusaworker.fencing import FencedGate
from nusaworker.ledger import Ledger
from nusaworker.metrics.gate import MeteredGate
from nusaworker.providers import NusaSMSClient
from nusaworker.retries import RetryRules
from nusaworker.settings import DEFAULT_ACCOUNT, Settings
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
    gates: dict[float, PacingGate]
    accounts: AccountTable
    clients: dict[str, Any]
    credits: dict[str, Credit]
    routes: RouteBook
    rules: RetryRules
    tracking: Tracking

    @property
    def client(self) -> NusaSMSClient:
        """The default account's client."""
        client: NusaSMSClient = self.clients[DEFAULT_ACCOUNT]
        return client

    @property
    def credit(self) -> Credit:
        """The default account's credit objects."""
        return self.credits[DEFAULT_ACCOUNT]

    @property
    def gate(self) -> PacingGate:
        """The gate of the default account's rule."""
        return self.gate_of(DEFAULT_ACCOUNT)

    def gate_of(self, account: str) -> PacingGate:
        """The gate that paces ``account`` (one per rate rule)."""
        return self.gates[self.accounts.account(account).min_interval_ms]

    @classmethod
    def build(cls, settings: Settings, *, send_task: Callable[..., Any]) -> Container:
        """Wire a process for ``settings``; ``send_task`` hands tasks to the broker (a Celery
        app's ``send_task``: re-enqueued sends, polls, hooks)."""
        client_redis, ledger = ledger_of(settings, "ledger")
        keys = keys_of(settings)
        table = AccountTable.from_settings(settings)
        gates: dict[float, PacingGate] = {}
        for account in table.accounts.values():
            if account.min_interval_ms not in gates:
                gates[account.min_interval_ms] = pacing_gate(
                    settings, keys, min_interval_ms=account.min_interval_ms
                )
        alerter = Alerter(build_sinks(settings))
        enqueue = celery_enqueue(send_task)
        clients: dict[str, Any] = {}
        credits: dict[str, Credit] = {}
        # Every hit of this process — sends, polls, balance checks — is timed at its gate and
        # counted once written (nusaworker.metrics.gate).
        names: dict[str, str] = {}  # pacing fingerprint → account name, filled below
        metered = {interval: MeteredGate(gate, names=names) for interval, gate in gates.items()}
        for name, account in table.accounts.items():
            # The ledger's fence runs once the turn is committed (FencedGate): a hit of a
            # record that another worker took over never leaves.
            gate = FencedGate(metered[account.min_interval_ms])
            clients[name] = account_client(settings, account, gate=gate)
            names.setdefault(clients[name].account, name)
            credits[name] = Credit.build(
                settings,
                redis_client=client_redis,
                ledger=ledger,
                account=clients[name].account,
                enqueue=enqueue,
                alerter=alerter,
            )
        health = health_of(client_redis, keys, settings)
        routes = RouteBook(
            table,
            clients=clients,
            guards={name: credit.circuit for name, credit in credits.items()},
            health=health,
        )
        default = table.account(DEFAULT_ACCOUNT)
        tracking = Tracking.build(
            settings,
            redis_client=client_redis,
            ledger=ledger,
            gate=metered[default.min_interval_ms],
            account=clients[DEFAULT_ACCOUNT].account,
            send_task=send_task,
            is_paused=credits[DEFAULT_ACCOUNT].circuit.is_paused,
            accounts={
                name: (account, metered[account.min_interval_ms], clients[name].account)
                for name, account in table.accounts.items()
            },
        )
        rules = RetryRules.from_settings(settings)
        return cls(
            settings,
            client_redis,
            ledger,
            gates,
            table,
            clients,
            credits,
            routes,
            rules,
            tracking,
        )

    def warm_up(self, threads: int) -> None:
        """Open connections and learn Redis's clock before the first task needs a turn."""
        for gate in self.gates.values():
            gate.warm_up(threads)

    def close(self) -> None:
        self.tracking.close()
        for client in self.clients.values():
            client.close()
        for gate in self.gates.values():
            gate.close()
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
