"""The ``send`` task: thin glue around :mod:`nusaworker.delivery`.

A task's only argument is a message id; everything else is in the ledger. Tasks handle what
Celery is for — serialization and routing — and nothing more: a send task is never retried by
Celery. A message to be tried again waits in the ledger (``accepted``, on the retry index) and
beat's release job enqueues it once due (:mod:`nusaworker.retries`).

The task always returns, but in one case: the ledger out of reach, when it is handed back to
the broker. A message that fails in a way no retry can fix — a record that cannot be read, a
channel nobody knows, a bug — ends final with the reason (:mod:`nusaworker.delivery.poison`);
it never goes back to its queue to fail again.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery.exceptions import Reject

from nusaworker import container, liveness
from nusaworker.celery import app
from nusaworker.delivery import deliver
from nusaworker.delivery.decide import ledger_out_of_reach
from nusaworker.ledger import RecordNotFound
from nusaworker.routing import SEND_TASK
from nusaworker.tasks.campaigns import top_up

log = logging.getLogger(__name__)


@app.task(name=SEND_TASK, bind=True)
def send(self: Any, message_id: str) -> str:
    """Deliver one message (any channel) recorded in the ledger under ``message_id``.

    The task always ends: a message to be retried is scheduled in the ledger (beat releases
    it), one whose channel is paused is held there (the resume re-enqueues it).
    """
    rt = container.current()
    try:
        outcome = deliver(
            message_id,
            ledger=rt.ledger,
            client=rt.client,
            rules=rt.rules,
            otp_resend_in_doubt=rt.settings.otp_resend_in_doubt,
            circuit=rt.credit.circuit,
            holder=liveness.holder(),
            routes=rt.routes,
        )
    except RecordNotFound:
        # Expired (retention) or deleted: there is nothing left to deliver.
        log.warning("message %s: no record; nothing to send", message_id)
        return "missing"
    except redis.RedisError as exc:
        # deliver() lets through only the errors of a ledger out of reach, which stayed out of
        # reach beyond its retries. A failed task would be acknowledged and its message dropped
        # with the record left mid-way; handed back, it is delivered again (or restored by the
        # broker after the visibility timeout, if the broker — the same Redis — is down too),
        # and the claim decides what is left to do.
        if not ledger_out_of_reach(exc):  # deliver() ends those itself; never loop on one
            log.error("message %s: the ledger refused it (%s); task ends", message_id, exc)
            return "refused"
        log.error("message %s: ledger unreachable (%s); task handed back", message_id, exc)
        raise Reject(f"ledger unreachable: {type(exc).__name__}", requeue=True) from exc
    top_up(message_id)  # a campaign's message: the next one goes out
    return outcome.state.value if outcome.state is not None else "unreadable"


# A send task received by a worker that dies before it ends is enqueued again by beat within
# seconds (nusaworker.liveness, nusaworker.ledger.recovery), not after the visibility timeout.
liveness.track(send.name)
