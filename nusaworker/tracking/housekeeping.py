"""Housekeeping (beat): replay lost sends, expire what never finished, apply parked pushes.

* :func:`replay_stuck` — a record still ``accepted`` ``replay_after_s`` after it became
  eligible lost its task (the broker lost it, the producer crashed between writing and
  enqueueing, an ``EnqueueError``). It is enqueued again, at most once per replay period (a
  marker key with the period as TTL). Sending twice is impossible either way: a send task
  claims the record first (``accepted → sending``), so a second task for it does nothing.
  Channels paused by a circuit breaker are skipped; their records wait for the resume.
* :func:`expire_overdue` — a ``sent`` record still not final at its horizon becomes
  ``expired``. The poller expires what it polls at the horizon; this sweep covers records no
  poll reached (no poll budget, polling switched off).
* :func:`sweep_parked` — applies parked status pushes whose record exists by now (a crash
  between writing the ``ref_no`` and applying them) and forgets parks Redis has expired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nusaworker.ledger import Ledger, MessageRecord, MessageState, RecordNotFound
from nusaworker.tracking import cadence

EXPIRY_REASON = "Expired: no final status within the tracking horizon"
# A replay marker lives a little less than the period, so the next run may replay again.
REPLAY_MARK_FRACTION = 0.9

Enqueue = Callable[[MessageRecord], None]


@dataclass
class ReplayReport:
    """What one replay run did."""

    replayed: list[str] = field(default_factory=list)
    paused: int = 0
    recently_replayed: int = 0


def replay_stuck(
    ledger: Ledger,
    *,
    older_than_s: float,
    period_s: float,
    enqueue: Enqueue,
    is_paused: Callable[[str], bool] = lambda channel: False,
    limit: int = 1000,
    keep: Callable[[MessageRecord], bool] = lambda record: True,
) -> ReplayReport:
    """Enqueue again the send of records ``accepted`` for ``older_than_s`` or longer (and,
    of those, only the ones ``keep`` says)."""
    report = ReplayReport()
    ttl_ms = max(1, round(period_s * REPLAY_MARK_FRACTION * 1000))
    for record in ledger.get_many(ledger.stuck_accepted(older_than_s, limit)):
        if record.state is not MessageState.ACCEPTED:
            continue
        if is_paused(record.channel):
            report.paused += 1
            continue
        if not keep(record):
            continue
        if not ledger.redis.set(ledger.keys.replayed(record.id), "1", nx=True, px=ttl_ms):
            report.recently_replayed += 1
            continue
        enqueue(record)
        report.replayed.append(record.id)
    return report


def expire_overdue(
    ledger: Ledger, *, horizon_s: float, now: float, limit: int = 10_000, page: int = 500
) -> int:
    """Expire ``sent`` records past their horizon among those due for a poll; how many.

    Every record past its horizon is due (the poller never schedules beyond the horizon), so
    walking the due part of the poll index finds them all.
    """
    expired = 0
    offset = 0
    seen = 0
    while seen < limit:
        ids = ledger.due_for_poll(now, page, offset=offset)
        if not ids:
            break
        seen += len(ids)
        kept = len(ids)
        for record in ledger.get_many(ids):
            sent_at = record.sent_at or record.updated_at
            if record.state is MessageState.SENT and cadence.is_overdue(sent_at, now, horizon_s):
                try:
                    if ledger.update_status(record.id, MessageState.EXPIRED, error=EXPIRY_REASON):
                        expired += 1
                        kept -= 1
                except RecordNotFound:
                    kept -= 1
        offset += kept
    return expired


def sweep_parked(ledger: Ledger, *, limit: int = 10_000) -> int:
    """Apply parked pushes whose records exist now; how many updates were applied."""
    applied = 0
    for ref_no in ledger.parked.refs(limit):
        applied += ledger.apply_parked(ref_no)
    ledger.parked.forget_expired()
    return applied
