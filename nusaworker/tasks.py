"""Celery tasks: thin glue around :mod:`nusaworker.delivery`.

A task's only argument is a message id; everything else is in the ledger. Tasks handle what
Celery is for — retries and routing — and nothing more.
"""

from __future__ import annotations

import random
from typing import Any

from celery.signals import worker_ready

from nusaworker.celery import app
from nusaworker.delivery import deliver
from nusaworker.routing import max_countdown
from nusaworker.runtime import get_runtime

# Base delay before a message whose hit failed transiently is tried again; grows per retry.
RETRY_BASE_S = 2.0


def retry_countdown(retries: int, cap: float) -> float:
    """Exponential backoff with full jitter, capped below the broker's visibility timeout."""
    return random.uniform(0, min(cap, RETRY_BASE_S * 2**retries))


@app.task(name="nusaworker.send", bind=True, max_retries=None)
def send(self: Any, message_id: str) -> str:
    """Deliver one message (any channel) recorded in the ledger under ``message_id``."""
    rt = get_runtime()
    cap = max_countdown(rt.settings.visibility_timeout_s)
    outcome = deliver(
        message_id,
        ledger=rt.ledger,
        client=rt.client,
        retry_in=retry_countdown(self.request.retries, cap),
        otp_resend_in_doubt=rt.settings.otp_resend_in_doubt,
    )
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@worker_ready.connect
def _warm_up(sender: Any = None, **kwargs: Any) -> None:
    """Build the runtime and warm the gate before the first task, not inside it."""
    concurrency = getattr(sender, "concurrency", None) or 1
    get_runtime().warm_up(int(concurrency))
