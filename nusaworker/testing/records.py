"""Ledger records in a given state, made the way the fleet makes them (for tests)."""

from __future__ import annotations

import time

from nusaworker.ledger import Ledger, MessageRecord


def sent_record(
    ledger: Ledger,
    ref_no: str | None,
    *,
    channel: str = "wa",
    priority: str = "normal",
    next_poll_at: float | None = None,
) -> str:
    """A new message taken through claim, hit and ``mark_sent`` with ``ref_no``; its id.
    ``next_poll_at``: when its first poll is due (default: in a minute, not during a test)."""
    record = MessageRecord(channel=channel, destination="628123", priority=priority)
    message_id, _ = ledger.create(record)
    claim = ledger.claim(message_id)
    assert claim.token is not None
    ledger.begin_hit(message_id, claim.token)
    due = time.time() + 60 if next_poll_at is None else next_poll_at
    ledger.mark_sent(message_id, claim.token, ref_no, next_poll_at=due)
    return message_id
