"""The circuit: breakers plus what follows from them — holding messages, alerts, re-enqueueing.

    send task ── is_paused(channel)? ──yes──▶ hold the record (accepted, retry_at), return
         │                                    (no claim, no provider hit, nothing failed)
         no
         ▼
    provider hit ── AuthError / InsufficientCredit ──▶ trip: open the breakers of the group
                                                       (one alert per opening), hold the record
    beat probe / `nusaworker resume` ──▶ close ──▶ re-enqueue every held record ──▶ one alert

A held record stays ``accepted``; its id sits in the channel's held set and its accepted-index
score is ``retry_at`` (``breaker_hold_s`` ahead), so the replay sweep leaves it alone while the
resume is what brings it back. Holding is guarded by the breaker key (see
:mod:`nusaworker.ledger.held`), so a resume never misses a record held after it drained.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nusaworker.credit.alerts import Alert, Alerter, AlertKind, Severity
from nusaworker.credit.breakers import CHANNELS, BreakerBoard, BreakerState, Reason, trip_plan
from nusaworker.ledger import Ledger, MessageRecord, MessageState, describe_error
from nusaworker.ledger.held import HeldRecords, HoldOutcome
from nusaworker.routing import enqueue_send

log = logging.getLogger(__name__)

__all__ = ["Circuit", "Enqueue", "Opening", "Resumed", "celery_enqueue"]

# Held ids are re-enqueued in batches of this many (one SPOP, one pipelined read each).
REQUEUE_BATCH = 500

Enqueue = Callable[[MessageRecord], None]


def celery_enqueue(send_task: Callable[..., Any]) -> Enqueue:
    """An :data:`Enqueue` that hands a record's ``send`` task to the broker through
    ``send_task`` (a Celery app's), as the producer does."""

    def enqueue(record: MessageRecord) -> None:
        enqueue_send(send_task, record.id, record.channel, record.priority)

    return enqueue


@dataclass(frozen=True)
class Opening:
    """Breakers one call opened (and so must announce): channels, reason, error text."""

    channels: list[str]
    reason: Reason
    error: str


@dataclass(frozen=True)
class Resumed:
    """What a resume did: the breakers it closed (as they were) and the records re-enqueued."""

    closed: list[BreakerState] = field(default_factory=list)
    requeued: int = 0

    @property
    def channels(self) -> list[str]:
        return [s.channel for s in self.closed]


class Circuit:
    """Breakers of one account, with holding, alerting and re-enqueueing around them."""

    def __init__(
        self,
        board: BreakerBoard,
        ledger: Ledger,
        *,
        alerter: Alerter | None = None,
        enqueue: Enqueue | None = None,
        hold_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.board = board
        self.ledger = ledger
        self.held = HeldRecords(ledger.redis, keys=ledger.keys, clock=clock)
        self.alerter = alerter or Alerter()
        self.enqueue = enqueue
        self.hold_s = hold_s
        self.clock = clock

    @property
    def account(self) -> str:
        return self.board.account

    def is_paused(self, channel: str) -> bool:
        """Whether ``channel`` is paused (one Redis round trip)."""
        return self.board.is_paused(channel)

    def hold(self, message_id: str, channel: str, reason: BaseException | str) -> HoldOutcome:
        """Hold an ``accepted`` record while ``channel``'s breaker is open (see module doc)."""
        return self.held.hold(
            message_id,
            retry_at=self.clock() + self.hold_s,
            reason=reason,
            into=self.board.held_key(channel),
            guard=self.board.key(channel),
        )

    # -- opening -------------------------------------------------------------------------------

    def trip(self, channel: str, error: BaseException) -> list[str]:
        """Open the breakers ``error`` (met on ``channel``) calls for; alert if this opened any.

        Returns the channels this call opened (empty when they were open already).
        """
        opening = self.open_for(channel, error)
        self.announce(opening)
        return [] if opening is None else opening.channels

    def open_for(self, channel: str, error: BaseException) -> Opening | None:
        """The first half of :meth:`trip`: open the breakers, alert later with
        :meth:`announce` (a send task first puts its message back, then alerts)."""
        plan = trip_plan(channel, error)
        if plan is None:
            return None
        channels, reason = plan
        text = describe_error(error)
        opened = self.board.open(channels, reason, error=text)
        return Opening(opened, reason, text) if opened else None

    def announce(self, opening: Opening | None) -> None:
        """Send the one alert of an opening (nothing for ``None``)."""
        if opening is not None:
            log.error(
                "channels %s paused (%s): %s",
                ",".join(opening.channels),
                opening.reason,
                opening.error,
            )
            self.alerter.send(self._opened_alert(opening.channels, opening.reason, opening.error))

    def pause(self, channels: Sequence[str], *, by: str = "operator") -> list[str]:
        """Pause ``channels`` by hand (reason ``manual``: only a resume ends it)."""
        error = f"paused by {by}"
        opened = self.board.open(channels, "manual", error=error)
        self.announce(Opening(opened, "manual", error) if opened else None)
        return opened

    def _opened_alert(self, channels: list[str], reason: str, error: str) -> Alert:
        names = ", ".join(channels)
        why = {
            "auth": "the provider refused the credentials (revoked key, wrong password or IP "
            "not whitelisted)",
            "credit": "the account has no credit left for them (or its balance expired)",
            "manual": "an operator paused them",
        }[reason]
        return Alert(
            kind=AlertKind.BREAKER_OPENED,
            severity=Severity.WARNING if reason == "manual" else Severity.CRITICAL,
            account=self.account,
            title=f"paused {names} ({reason})",
            text=f"Sending on {names} is paused fleet-wide: {why}. Messages are held, none is "
            "failed; they are re-enqueued when the channel resumes"
            + (" (a probe checks the account regularly)." if reason != "manual" else "."),
            details={"channels": channels, "reason": reason, "error": error},
            at=self.clock(),
        )

    # -- closing -------------------------------------------------------------------------------

    def resume(
        self,
        channels: Sequence[str],
        *,
        by: str = "operator",
        reasons: Iterable[str] | None = None,
    ) -> Resumed:
        """Close ``channels`` (those open for one of ``reasons``; ``None``: any), re-enqueue
        their held records, and send one recovery alert if this call closed any."""
        closed = self.board.close(channels, reasons=reasons)
        requeued = 0
        try:
            for state in closed:
                requeued += self.requeue_held(state.channel)
        finally:
            if closed:
                self.alerter.send(self._closed_alert(closed, by, requeued))
        return Resumed(closed=closed, requeued=requeued)

    def _closed_alert(self, closed: list[BreakerState], by: str, requeued: int) -> Alert:
        names = ", ".join(s.channel for s in closed)
        reasons = sorted({s.reason or "manual" for s in closed})
        since = min((s.since for s in closed if s.since is not None), default=None)
        paused_for = None if since is None else round(self.clock() - since, 1)
        return Alert(
            kind=AlertKind.BREAKER_CLOSED,
            severity=Severity.INFO,
            account=self.account,
            title=f"resumed {names}",
            text=f"Sending on {names} resumed ({by}); {requeued} held messages re-enqueued.",
            details={
                "channels": [s.channel for s in closed],
                "reasons": reasons,
                "resumed_by": by,
                "paused_for_s": paused_for,
                "requeued": requeued,
            },
            at=self.clock(),
        )

    def requeue_held(self, channel: str) -> int:
        """Re-enqueue the records held for ``channel``; how many were sent to the broker.

        A record no longer ``accepted`` (the replay sweep sent it meanwhile) is dropped from
        the set; one that cannot be enqueued goes back into it, and the error is raised.
        """
        if self.enqueue is None:
            raise RuntimeError("this circuit cannot re-enqueue: no enqueue function was given")
        key = self.board.held_key(channel)
        count = 0
        while True:
            ids = self.held.take(key, REQUEUE_BATCH)
            if not ids:
                return count
            records = self.ledger.get_many(ids)
            pending = [r for r in records if r.state is MessageState.ACCEPTED]
            for i, record in enumerate(pending):
                try:
                    self.enqueue(record)
                except Exception:
                    self.held.put_back(key, [r.id for r in pending[i:]])
                    raise
                count += 1

    def sweep_held(self, states: dict[str, BreakerState] | None = None) -> int:
        """Re-enqueue what is still held for channels whose breaker is closed (a resume that
        crashed half-way); cheap when there is nothing: one round trip."""
        states = states if states is not None else self.board.states()
        counts = self.board.held_counts(CHANNELS)
        total = 0
        for channel, held in counts.items():
            if held and not states[channel].open:
                total += self.requeue_held(channel)
        return total
