"""Celery tasks: thin glue around :mod:`nusaworker.delivery`.

A task's only argument is a message id; everything else is in the ledger. Tasks handle what
Celery is for — retries and routing — and nothing more. The beat jobs of balances and breakers
live in :mod:`nusaworker.credit.tasks`.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import redis
from celery.exceptions import Reject
from celery.signals import worker_ready

from nusaworker.celery import app
from nusaworker.credit.context import get_credit
from nusaworker.delivery import deliver
from nusaworker.routing import max_countdown
from nusaworker.runtime import get_runtime

log = logging.getLogger(__name__)

# Base delay before a message whose hit failed transiently is tried again; grows per retry.
RETRY_BASE_S = 2.0


def retry_countdown(retries: int, cap: float) -> float:
    """Exponential backoff with full jitter, capped below the broker's visibility timeout."""
    return random.uniform(0, min(cap, RETRY_BASE_S * 2**retries))


@app.task(name="nusaworker.send", bind=True, max_retries=None)
def send(self: Any, message_id: str) -> str:
    """Deliver one message (any channel) recorded in the ledger under ``message_id``.

    A message whose channel is paused is held in the ledger and the task ends (no retry):
    the channel's resume re-enqueues it.
    """
    rt = get_runtime()
    cap = max_countdown(rt.settings.visibility_timeout_s)
    try:
        outcome = deliver(
            message_id,
            ledger=rt.ledger,
            client=rt.client,
            retry_in=retry_countdown(self.request.retries, cap),
            otp_resend_in_doubt=rt.settings.otp_resend_in_doubt,
            circuit=get_credit().circuit,
        )
    except redis.RedisError as exc:
        # The ledger stayed out of reach beyond its retries. A failed task would be
        # acknowledged and its message dropped with the record left mid-way; handed back, it
        # is delivered again (or restored by the broker after the visibility timeout, if the
        # broker — the same Redis — is down too), and the claim decides what is left to do.
        log.error("message %s: ledger unreachable (%s); task handed back", message_id, exc)
        raise Reject(f"ledger unreachable: {type(exc).__name__}", requeue=True) from exc
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@worker_ready.connect
def _warm_up(sender: Any = None, **kwargs: Any) -> None:
    """Build the runtime and warm the gate before the first task, not inside it."""
    concurrency = getattr(sender, "concurrency", None) or 1
    rt = get_runtime()
    rt.warm_up(int(concurrency))
    credit = get_credit()
    if rt.settings.metrics_port:
        _serve_metrics(credit, rt.settings.metrics_port)


def _serve_metrics(credit: Any, port: int) -> None:
    """Expose the credit gauges; the first worker on a host gets the port, the others skip."""
    from nusaworker.credit.metrics import CreditCollector, registry_for, serve

    try:
        serve(registry_for(CreditCollector(credit.board, credit.watch)), port)
    except OSError as exc:
        log.info("metrics port %d not served by this worker (%s)", port, exc)
