"""Resolve what dead workers held, within seconds: the executor of :mod:`.leases`' table.

Beat calls :func:`resolve_dead_holders` every couple of seconds. A worker SIGKILLed mid-task
is known dead once its heartbeat key expires (``heartbeat_ttl_s``); one run later its claimed
records are given back or settled and its received-but-unclaimed tasks are enqueued again —
long before the broker's visibility timeout would hand its unacknowledged messages out again
(those later redeliveries find the records claimed or settled, and do nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from nusaworker.ledger.errors import Fenced, RecordNotFound
from nusaworker.ledger.leases import (
    IN_DOUBT_ERROR,
    LATE_IN_DOUBT_ERROR,
    RESENT_IN_DOUBT_ERROR,
    WORKER_LOST_ERROR,
    LeaseAction,
    Leases,
    lease_action,
)
from nusaworker.ledger.ledger import Ledger
from nusaworker.ledger.record import MessageRecord
from nusaworker.ledger.states import MessageState

log = logging.getLogger(__name__)

Enqueue = Callable[[MessageRecord], None]


@dataclass
class Recovery:
    """What one run did: ids by what became of them, and the holders found dead."""

    dead: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    #: Records given back but not enqueued (broker error): the replay sweep sends them later.
    not_enqueued: list[str] = field(default_factory=list)
    #: Holders left for the next run: alive again, or a record changed while being resolved.
    retried: list[str] = field(default_factory=list)

    @property
    def enqueued(self) -> int:
        return len(self.requeued) + len(self.resent) + len(self.received) - len(self.not_enqueued)


def resolve_dead_holders(
    ledger: Ledger, leases: Leases, *, enqueue: Enqueue, otp_resend_in_doubt: bool
) -> Recovery:
    """Find the holders whose heartbeat is gone and resolve everything they held."""
    report = Recovery()
    held = leases.held()
    for holder in leases.dead(also=held):
        report.dead.append(holder)
        done = _resolve_claims(ledger, leases, holder, held.get(holder, []), otp_resend_in_doubt)
        settled_ids = {i for i, _ in done.enqueue} | set(done.unknown)
        report.unknown += done.unknown
        for message_id, action in done.enqueue:
            (report.resent if action is LeaseAction.RESEND else report.requeued).append(message_id)
        received = [
            r for r in _due_accepted(ledger, leases.received(holder)) if r.id not in settled_ids
        ]
        report.received += [r.id for r in received]
        records = ledger.get_many(i for i, _ in done.enqueue)
        for record in [*records, *received]:
            try:
                enqueue(record)
            except Exception as exc:  # kombu/redis errors of many kinds: all mean "not sent"
                log.error("message %s given back but not enqueued: %s", record.id, exc)
                report.not_enqueued.append(record.id)
        if not (done.complete and leases.forget(holder)):
            report.retried.append(holder)
        elif done.enqueue or done.unknown or received:
            log.warning(
                "worker %s is dead: %d claim(s) given back, %d unknown, %d received re-enqueued",
                holder,
                len(done.enqueue),
                len(done.unknown),
                len(received),
            )
    return report


@dataclass
class _Claims:
    enqueue: list[tuple[str, LeaseAction]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    complete: bool = True


def _resolve_claims(
    ledger: Ledger, leases: Leases, holder: str, ids: list[str], otp_resend_in_doubt: bool
) -> _Claims:
    done = _Claims()
    now = ledger.clock()
    records = {r.id: r for r in ledger.get_many(ids)}
    for message_id in ids:
        record = records.get(message_id)
        if record is None:
            leases.drop_stale(message_id, holder)
            continue
        action = lease_action(
            record.state,
            held_by_dead=record.holder == holder,
            hit_started=record.hit_started,
            has_ref_no=record.ref_no is not None,
            priority=record.priority,
            otp_resend_in_doubt=otp_resend_in_doubt,
            past_validity=record.expires_at is not None and now >= record.expires_at,
        )
        if action is LeaseAction.FORGET or record.token is None:
            leases.drop_stale(message_id, holder)
        elif action is LeaseAction.MARK_UNKNOWN:
            if leases.is_alive(holder):
                done.complete = False
                continue
            try:
                # Fenced by the dead holder's token: only that very claim becomes unknown. The
                # token stays on the record, so a late answer to its hit is still recorded.
                late = record.priority == "otp" and otp_resend_in_doubt
                error = LATE_IN_DOUBT_ERROR if late else IN_DOUBT_ERROR
                if ledger.mark_unknown(message_id, error, token=record.token):
                    done.unknown.append(message_id)
            except (Fenced, RecordNotFound):
                pass  # claimed again (or gone) meanwhile: not this holder's any more
        else:
            error = WORKER_LOST_ERROR if action is LeaseAction.REQUEUE else RESENT_IN_DOUBT_ERROR
            verdict = leases.give_back(
                message_id,
                holder,
                record.token,
                hit_started=record.hit_started,
                error=error,
                now=now,
            )
            if verdict == "requeued":
                done.enqueue.append((message_id, action))
            elif verdict in ("alive", "changed"):
                done.complete = False
    return done


def _due_accepted(ledger: Ledger, message_ids: list[str]) -> list[MessageRecord]:
    """Of ``message_ids``, the records still ``accepted`` and due now.

    A record whose accepted-index score lies ahead waits for its own schedule (a retry
    back-off, a paused channel's hold): enqueuing it now would only cut that wait short.
    """
    if not message_ids:
        return []
    now = ledger.clock()
    pipe = ledger.redis.pipeline(transaction=False)
    for message_id in message_ids:
        pipe.zscore(ledger.keys.accepted_index, message_id)
    scores = pipe.execute()
    due = [
        i
        for i, score in zip(message_ids, scores, strict=True)
        if score is not None and score <= now
    ]
    return [r for r in ledger.get_many(due) if r.state is MessageState.ACCEPTED]
