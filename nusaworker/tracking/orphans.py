"""Orphans (beat): a recorded message whose task the broker lost, sent again within seconds.

A task can vanish between the broker and the ledger: a producer whose Redis went away after it
wrote the record and before it enqueued the task (``EnqueueError``; its retry with the same
idempotency key finds the record and enqueues nothing), or a worker SIGKILLed in the
milliseconds between taking a message off the queue and noting its receipt (what kombu had
popped is then in no queue and in nobody's hands). The record stays ``accepted`` and due, and
nothing will ever send it but a sweep; the general replay sweep waits ``replay_after_s`` (ten
minutes) because a record may also just be waiting behind a long backlog.

This sweep tells the two apart cheaply: a due ``accepted`` record whose queue is **empty**, that
no live worker has received, and that has been due for ``orphan_after_s`` is not waiting for
anything: its task is gone. It is enqueued again (at most once per period: a marker key). Sending
twice is impossible either way — a send task claims its record first — so a false positive costs
one task that does nothing. Channels paused by a breaker are left alone (their records wait for
the resume).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.routing import queue_for
from nusaworker.tracking.housekeeping import ReplayReport, replay_stuck

# How many due records one run looks at, at most.
ORPHAN_SCAN_LIMIT = 1000


def replay_orphans(
    ledger: Ledger,
    *,
    older_than_s: float,
    period_s: float,
    enqueue: Callable[[MessageRecord], None],
    queue_size: Callable[[str], int | None],
    received: Iterable[str],
    is_paused: Callable[[str], bool] = lambda channel: False,
) -> ReplayReport:
    """Enqueue again the due ``accepted`` records that nothing is waiting to send.

    ``queue_size(queue)`` is the broker's count of waiting tasks (``None``: unknown, treated as
    busy); ``received`` the ids live workers have received and not ended.
    """
    sizes: dict[str, int | None] = {}
    in_hand = set(received)

    def orphaned(record: MessageRecord) -> bool:
        if record.id in in_hand:
            return False
        queue = queue_for(record.channel, record.priority)
        if queue not in sizes:
            sizes[queue] = queue_size(queue)
        return sizes[queue] == 0

    return replay_stuck(
        ledger,
        older_than_s=older_than_s,
        period_s=period_s,
        enqueue=enqueue,
        is_paused=is_paused,
        limit=ORPHAN_SCAN_LIMIT,
        keep=orphaned,
    )
