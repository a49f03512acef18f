"""The phone-check dispatcher: a beat job that sends coalesced numbers as full ``check`` hits.

Every second (``nusaworker.phonecheck.SCHEDULE``), under a per-run lock, it takes the batches
due (:meth:`~nusaworker.phonecheck.PhoneChecks.take`) and accepts each as one ``check``
message through the producer, so the ledger, routes, breakers and the pacing gate apply to it
as to any message; the send task on the ``check`` queue makes the hit.
"""

from __future__ import annotations

import logging
from typing import Any

from nusaworker import container
from nusaworker.celery import app
from nusaworker.phonecheck import DISPATCH_LOCK_TTL_S, PhoneChecks, dispatch
from nusaworker.producer import EnqueueError, Producer

log = logging.getLogger(__name__)

# Coalesced checks keep the priority a producer's check always had: they are not a campaign's
# bulk sends (an `auto` campaign waits for them before it can send anything).
PRIORITY = "normal"


@app.task(name="nusaworker.housekeeping.phone_checks")
def phone_checks() -> dict[str, Any]:
    """Send the phone-check batches due now, one ``check`` message per 100 numbers."""
    c = container.current()
    settings = c.settings
    checks = PhoneChecks.from_settings(c.redis, settings)
    producer = Producer(ledger=c.ledger, app=app, rules=c.rules, phone_checks=checks)

    def submit(numbers: list[str]) -> str:
        # No callback_url in the payload: the URL holds the receiver's token, and a payload is
        # kept in the ledger and shown (status, hooks). The client adds the settings' URL.
        try:
            return producer.submit("check", priority=PRIORITY, phone_numbers=numbers)
        except EnqueueError as exc:
            # Recorded but not enqueued: the replay sweep sends it, so these numbers are on
            # their way; queueing them again would check them twice.
            log.warning("phone check recorded, not enqueued: %s", exc)
            return "(replay)"

    with c.tracking.jobs.run_once("phone_checks", DISPATCH_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        report = dispatch(checks, submit)
    if report.messages:
        log.info("phone checks: %d number(s) in %d hit(s)", report.taken, len(report.messages))
    return {"taken": report.taken, "messages": len(report.messages)}
