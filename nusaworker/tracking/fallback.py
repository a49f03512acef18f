"""Per-message fallback: a WhatsApp message not delivered in time is followed by an SMS.

A producer call with ``fallback_after_s`` stores the fallback on the record (channel and a
payload validated at the edge) and puts the id on the ledger's fallback index, due at its
acceptance plus the delay. Beat's fallback job (every few seconds) takes each due id and:

* the message was delivered or read → nothing;
* otherwise (still waiting, sent but not delivered, failed, expired, in doubt) → a new message
  of the fallback's channel, with the idempotency key ``fallback:<id>``: a run that dies
  half-way and is repeated makes the same one message, never two. It goes through that
  channel's route like any message, and the original records its id (``fallback_id``).

The original is not withdrawn: a WhatsApp message delivered late arrives besides the SMS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from nusaworker.ledger import Ledger, MessageRecord, MessageState

log = logging.getLogger(__name__)

__all__ = ["FallbackReport", "run_fallbacks"]

DELIVERED = frozenset({MessageState.DELIVERED, MessageState.READ})

Enqueue = Callable[[MessageRecord], None]


@dataclass
class FallbackReport:
    """What one run did."""

    sent: int = 0
    not_needed: int = 0


def run_fallbacks(
    ledger: Ledger, *, enqueue: Enqueue, now: float | None = None, limit: int = 1000
) -> FallbackReport:
    """Send the fallbacks due at ``now`` (see the module docstring)."""
    report = FallbackReport()
    now = time.time() if now is None else now
    ids = ledger.due_fallbacks(now, limit)
    records = ledger.get_many(ids)
    for message_id in set(ids) - {r.id for r in records}:
        ledger.take_fallback(message_id)  # its record is gone: nothing to follow
    for record in records:
        fallback = record.fallback
        if fallback is None or record.state in DELIVERED:
            report.not_needed += int(ledger.take_fallback(record.id))
            continue
        follow = MessageRecord(
            channel=fallback["channel"],
            destination=record.destination,
            priority=record.priority,
            payload=fallback["payload"],
        )
        follow_id, created = ledger.create(follow, idempotency_key=f"fallback:{record.id}")
        if created:
            enqueue(follow)
            log.info("message %s not delivered in time: fallback %s", record.id, follow_id)
        ledger.note_fallback(record.id, follow_id)
        ledger.take_fallback(record.id)
        report.sent += int(created)
    return report
