"""A worker process's life: its identity, its container, its warm-up and its last words.

worker_init          (main process)   liveness: identity and heartbeat
worker_process_init  (prefork child)  build the container, warm the gate
worker_ready         (main process)   build the container if tasks run here (threads),
                                      warm the gate for every thread, serve metrics
worker_shutdown      (each process)   log what pacing cost
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from nusaworker import container, liveness
from nusaworker.celery import app, settings
from nusaworker.credit.metrics import CreditCollector, registry_for, serve

log = logging.getLogger(__name__)


@worker_init.connect
def _identity(sender: Any = None, **kwargs: Any) -> None:
    # The queues are known by now (-Q is applied before worker_init); the heartbeat names them.
    consuming = getattr(getattr(app.amqp, "queues", None), "consume_from", None) or {}
    liveness.start(settings, str(getattr(sender, "hostname", None) or "worker"), sorted(consuming))


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
        _serve_metrics(rt.credit, rt.settings.metrics_port)


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


def _serve_metrics(credit: Any, port: int) -> None:
    """Expose the credit gauges; the first worker on a host gets the port, the others skip."""
    try:
        serve(registry_for(CreditCollector(credit.board, credit.watch)), port)
    except OSError as exc:
        log.info("metrics port %d not served by this worker (%s)", port, exc)
