"""A worker process's life: its identity, its container, its warm-up and its last words.

worker_init             (main process)   liveness: identity and heartbeat; metrics files
                                         (multiprocess mode, a directory emptied now)
worker_process_init     (prefork child)  build the container, warm the gate
worker_ready            (main process)   build the container if tasks run here (threads),
                                         warm the gate for every thread, serve metrics
worker_process_shutdown (prefork child)  log what pacing cost; mark its metrics file dead
worker_shutdown         (main process)   log what pacing cost; remove a private metrics dir
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from prometheus_client import CollectorRegistry

from nusaworker import container, liveness
from nusaworker.campaigns.metrics import CampaignCollector
from nusaworker.campaigns.store import CampaignStore
from nusaworker.celery import app, settings
from nusaworker.credit.metrics import AccountCredit, CreditCollector
from nusaworker.factories import keys_of
from nusaworker.metrics import exposition
from nusaworker.metrics.fleet import FleetCollector
from nusaworker.routing import QUEUES

log = logging.getLogger(__name__)


# The metrics directory this worker made for itself (removed when it stops), if any.
_own_metrics_dir: str | None = None


@worker_init.connect
def _identity(sender: Any = None, **kwargs: Any) -> None:
    # The queues are known by now (-Q is applied before worker_init); the heartbeat names them.
    consuming = getattr(getattr(app.amqp, "queues", None), "consume_from", None) or {}
    liveness.start(settings, str(getattr(sender, "hostname", None) or "worker"), sorted(consuming))


@worker_init.connect
def _metrics_files(**kwargs: Any) -> None:
    """Before the pool forks: every process of this worker counts into one directory."""
    global _own_metrics_dir
    if settings.metrics_port:
        path = exposition.enable_multiprocess(settings.metrics_dir)
        _own_metrics_dir = None if settings.metrics_dir else path


@worker_process_init.connect
def _wire_child(**kwargs: Any) -> None:
    """A prefork child runs tasks: wire it before its first one, not inside it."""
    container.install(settings, app.send_task).warm_up(1)


@worker_ready.connect
def _wire_worker(sender: Any = None, **kwargs: Any) -> None:
    """Wire the main process and warm the gate before the first task, not inside it."""
    concurrency = getattr(sender, "concurrency", None) or 1
    rt = container.install(settings, app.send_task)
    rt.warm_up(int(concurrency))
    if rt.settings.metrics_port:
        _serve_metrics(rt, rt.settings.metrics_port)


@worker_shutdown.connect
@worker_process_shutdown.connect
def _log_pacing(**kwargs: Any) -> None:
    """One line of what pacing cost this process: turns, waits, and the time from "write now"
    to the report (which every hit adds to the account's interval)."""
    rt = container.built()
    if rt is None:
        return
    stats = rt.gate.stats.snapshot()
    turns = stats.get("acquisitions", 0)
    if turns:
        log.info(
            "pacing: %d turns, mean wait %.1f ms, late %.3f ms, clock width %.3f ms, hold %.3f "
            "ms; %s",
            turns,
            1000 * stats.get("total_wait_s", 0) / turns,
            1000 * stats.get("late_s", 0) / turns,
            1000 * stats.get("width_s", 0) / turns,
            1000 * stats.get("hold_s", 0) / turns,
            {k: int(v) for k, v in stats.items() if not k.endswith("_s") and v},
        )


@worker_process_shutdown.connect
def _metrics_child_exit(**kwargs: Any) -> None:
    exposition.mark_dead(os.getpid())


@worker_shutdown.connect
def _metrics_remove_dir(**kwargs: Any) -> None:
    if _own_metrics_dir is not None:
        exposition.remove_dir(_own_metrics_dir)


def metrics_registry(rt: container.Container) -> CollectorRegistry:
    """What a worker's ``/metrics`` shows: the counters of all its processes, and the fleet's
    gauges read from Redis at the scrape (queues, ledger states, rules, campaigns, credit)."""
    transport = app.conf.broker_transport_options or {}
    fleet = FleetCollector(
        rt.redis,
        keys_of(rt.settings),
        queues=QUEUES,
        priority_steps=transport.get("priority_steps", (0, 3, 6, 9)),
        sep=transport.get("sep", ":"),
        rules_ms={name: a.min_interval_ms for name, a in rt.accounts.accounts.items()},
    )
    campaigns = CampaignCollector(CampaignStore(rt.redis, keys=keys_of(rt.settings)))
    # Every account's balances and breakers: each has its own watch snapshot and board.
    credit = CreditCollector(
        [AccountCredit(n, c.board, c.watch) for n, c in sorted(rt.credits.items())]
    )
    return exposition.process_registry([fleet, campaigns, credit])


def _serve_metrics(rt: container.Container, port: int) -> None:
    """Serve the worker's metrics on ``port``; a second worker on one host finds the port
    taken and says so (give each its own ``NUSAWORKER_METRICS_PORT``)."""
    try:
        exposition.serve(metrics_registry(rt), port)
    except OSError as exc:
        log.warning("metrics port %d not served by this worker (%s)", port, exc)
