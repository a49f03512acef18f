"""Beat's release job: the ledger's schedule, put back on the broker when it is due.

Run every second (:mod:`.schedule`), under a per-run lock:

* :func:`release_due` — records released for a retry (``accepted``, on the ledger's retry
  index) whose ``retry_at`` has come are enqueued again. This, not a Celery countdown, is how
  a send is retried: the broker only ever holds work that may run now, and a worker that dies
  loses no pending retry. A record past its validity is expired instead of enqueued.
* :func:`expire_waiting` — records with a validity still waiting when it ends (queued, held
  for a paused channel, scheduled for a retry) become ``expired``, with the reason.

Both indexes are hints (:mod:`nusaworker.ledger.schedule`): every id is checked against its
record. Enqueueing twice is harmless — the claim lets one task send — so a crash half-way
through a run costs at most a duplicate task, never a lost retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nusaworker.ledger import Ledger, MessageRecord, MessageState

Enqueue = Callable[[MessageRecord], None]


@dataclass
class ReleaseReport:
    """What one run did."""

    released: int = 0
    expired: int = 0
    dropped: int = 0


def release_due(
    ledger: Ledger, *, now: float, enqueue: Enqueue, limit: int = 1000
) -> ReleaseReport:
    """Enqueue the records whose retry is due at ``now``; see the module docstring."""
    report = ReleaseReport()
    ids = ledger.due_retries(now, limit)
    records = {r.id: r for r in ledger.get_many(ids)}
    for message_id in ids:
        record = records.get(message_id)
        if record is not None and record.state is MessageState.SENDING:
            # Its holder is writing the release right now (it adds the index entry first), or
            # another task took it: look again next run.
            continue
        if not ledger.take_retry(message_id):
            continue  # another run took it
        if record is None or record.state is not MessageState.ACCEPTED:
            report.dropped += 1
            continue
        if _past_validity(record, now):
            report.expired += int(ledger.expire(message_id))
            continue
        try:
            enqueue(record)
        except Exception:
            ledger.schedule_retry(message_id, now)  # not lost: the next run tries again
            raise
        report.released += 1
    return report


def expire_waiting(ledger: Ledger, *, now: float, limit: int = 1000) -> int:
    """Expire the records still ``accepted`` whose validity ended by ``now``; how many."""
    ids = ledger.due_expiries(now, limit)
    if not ids:
        return 0
    expired = 0
    for record in ledger.get_many(ids):
        if record.state is MessageState.ACCEPTED and _past_validity(record, now):
            expired += int(ledger.expire(record.id))
    # Whatever is left moved on (claimed, sent, final, gone); a record claimed but not sent
    # is expired by the claim or the retry decision, which read expires_at from the record.
    ledger.forget_expiry(ids)
    return expired


def _past_validity(record: MessageRecord, now: float) -> bool:
    return record.expires_at is not None and now >= record.expires_at
