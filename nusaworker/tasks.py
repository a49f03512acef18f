"""Celery tasks: thin glue around :mod:`nusaworker.delivery`.

A task's only argument is a message id; everything else is in the ledger. Tasks handle what
Celery is for — serialization and routing — and nothing more: a send task is never retried by
Celery. A message to be tried again waits in the ledger (``accepted``, on the retry index) and
beat's release job enqueues it once due (:mod:`nusaworker.retries`). The beat jobs of balances
and breakers live in :mod:`nusaworker.credit.tasks`.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery.exceptions import Reject
from celery.signals import worker_process_shutdown, worker_ready, worker_shutdown

from nusaworker import liveness
from nusaworker.celery import app
from nusaworker.credit.context import get_credit
from nusaworker.delivery import deliver
from nusaworker.retries import RetryRules
from nusaworker.runtime import get_runtime, runtime_if_built
from nusaworker.settings import Settings

log = logging.getLogger(__name__)

_rules: tuple[Settings, RetryRules] | None = None


def _retry_rules(settings: Settings) -> RetryRules:
    """The retry budgets of this process's settings, built once."""
    global _rules
    if _rules is None or _rules[0] is not settings:
        _rules = (settings, RetryRules.from_settings(settings))
    return _rules[1]


@app.task(name="nusaworker.send", bind=True)
def send(self: Any, message_id: str) -> str:
    """Deliver one message (any channel) recorded in the ledger under ``message_id``.

    The task always ends: a message to be retried is scheduled in the ledger (beat releases
    it), one whose channel is paused is held there (the resume re-enqueues it).
    """
    rt = get_runtime()
    try:
        outcome = deliver(
            message_id,
            ledger=rt.ledger,
            client=rt.client,
            rules=_retry_rules(rt.settings),
            otp_resend_in_doubt=rt.settings.otp_resend_in_doubt,
            circuit=get_credit().circuit,
            holder=liveness.holder(),
        )
    except redis.RedisError as exc:
        # The ledger stayed out of reach beyond its retries. A failed task would be
        # acknowledged and its message dropped with the record left mid-way; handed back, it
        # is delivered again (or restored by the broker after the visibility timeout, if the
        # broker — the same Redis — is down too), and the claim decides what is left to do.
        log.error("message %s: ledger unreachable (%s); task handed back", message_id, exc)
        raise Reject(f"ledger unreachable: {type(exc).__name__}", requeue=True) from exc
    return outcome.state.value


# A send task received by a worker that dies before it ends is enqueued again by beat within
# seconds (nusaworker.liveness, nusaworker.ledger.recovery), not after the visibility timeout.
liveness.track(send.name)


@worker_ready.connect
def _warm_up(sender: Any = None, **kwargs: Any) -> None:
    """Build the runtime and warm the gate before the first task, not inside it."""
    concurrency = getattr(sender, "concurrency", None) or 1
    rt = get_runtime()
    rt.warm_up(int(concurrency))
    credit = get_credit()
    if rt.settings.metrics_port:
        _serve_metrics(credit, rt.settings.metrics_port)


@worker_shutdown.connect
@worker_process_shutdown.connect
def _log_pacing(**kwargs: Any) -> None:
    """One line of what pacing cost this process: turns, waits, and the time from "write now"
    to the report (which every hit adds to the account's interval)."""
    rt = runtime_if_built()
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
    from nusaworker.credit.metrics import CreditCollector, registry_for, serve

    try:
        serve(registry_for(CreditCollector(credit.board, credit.watch)), port)
    except OSError as exc:
        log.info("metrics port %d not served by this worker (%s)", port, exc)
