"""Status polling: which sent messages to ask about now, and asking about one.

The beat job ``nusaworker.status.dispatch_polls`` calls :meth:`Poller.dispatch` every second.
It reads the due part of the poll index — the OTP index first, so OTP statuses are polled
before any other — and for each due record:

* past its horizon (:mod:`.cadence`) → ``expired``, no hit;
* not pollable (WA Official has no status endpoint; a phone check or a send without a
  ``ref_no`` has nothing to ask about) → its next look is put at its horizon, no hit;
* otherwise, up to the run's *quota* (the poll budget of one period), it is leased — its next
  poll moved ``lease_s`` ahead, so the next run does not hand it out again — and a
  ``nusaworker.status.poll`` task is enqueued for it.

:meth:`Poller.poll` (that task) asks the provider through the client it was given — built
with :class:`~nusaworker.tracking.budget.PollGate`, so the hit takes a poll token and a
``bulk`` pacing slot — and records the answer: a final status moves the record (and ends its
polling), anything else keeps the provider's code verbatim and schedules the next poll by the
cadence, or expires the record at its horizon. A failed poll is simply tried again later; a
poll that finds the record already final (a callback came first) does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nusaworker.errors import NusaWorkerError
from nusaworker.ledger import Ledger, MessageRecord, MessageState, RecordNotFound
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.family import family_of
from nusaworker.providers.registry import PROVIDERS
from nusaworker.tracking import cadence
from nusaworker.tracking.housekeeping import EXPIRY_REASON
from nusaworker.tracking.statuses import POLLABLE_CHANNELS, Reading, family, read_status

log = logging.getLogger(__name__)

# How many due ids one dispatch reads per page, per unit of quota: expired and unpollable
# records are dealt with on the way, so a page holds more than the quota.
PAGE_FACTOR = 4
MAX_PAGES = 10

Enqueue = Callable[[str, str], None]
"""``enqueue(message_id, priority)``: hand one poll to a worker."""


@dataclass
class DispatchReport:
    """What one dispatch run did."""

    dispatched: list[str] = field(default_factory=list)
    expired: int = 0
    unpollable: int = 0
    skipped: int = 0


class PollResult(StrEnum):
    """What one poll came to; a ``str``, so the ``poll`` task still returns the plain word."""

    #: The provider reported a final status; the record moved to it.
    FINAL = "final"
    #: Not final yet: the provider's code is kept and the next poll scheduled.
    PENDING = "pending"
    #: Not final, and past the polling horizon: the record is now ``expired``.
    EXPIRED = "expired"
    #: The poll itself failed; the record is asked about again later.
    FAILED = "failed"
    #: Nothing to poll (no record, no longer ``sent``, or no status call for it).
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PollOutcome:
    """What one poll found (:class:`PollResult`), with the provider's status and the
    record's state when known."""

    result: PollResult
    provider_status: str | None = None
    state: MessageState | None = None


def _epoch(value: datetime | str | None) -> float | None:
    if not isinstance(value, datetime):
        return None  # absent, or a date the model could not read: the ledger uses "now"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def reports_delivery(client: Any) -> bool:
    """Whether ``client``'s provider family tells when a message was delivered."""
    family_row = PROVIDERS.get(family_of(client))
    return family_row is None or family_row.reports_delivery


def is_pollable(record: MessageRecord) -> bool:
    """Whether the provider can be asked about ``record`` (a channel with a status call)."""
    return bool(record.ref_no) and record.channel in POLLABLE_CHANNELS


class Poller:
    """Dispatching and running status polls for one ledger."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        horizon_s: float,
        lease_s: float,
        steps: Sequence[tuple[float, float]] = cadence.DEFAULT_STEPS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.horizon_s = horizon_s
        self.lease_s = lease_s
        self.steps = steps
        self.clock = clock

    # -- dispatch (beat) -------------------------------------------------------------------------

    def dispatch(self, quota: int, enqueue: Enqueue) -> DispatchReport:
        """Hand out up to ``quota`` due polls, OTP first; expire and park what needs no hit."""
        report = DispatchReport()
        now = self.clock()
        for otp_only in (True, False):
            for _ in range(MAX_PAGES):
                left = quota - len(report.dispatched)
                page = self.ledger.due_for_poll(now, max(1, left) * PAGE_FACTOR, otp_only=otp_only)
                if not page or not self._dispatch_page(page, left, now, enqueue, report):
                    break
        return report

    def _dispatch_page(
        self, ids: list[str], left: int, now: float, enqueue: Enqueue, report: DispatchReport
    ) -> bool:
        """Work through one page; whether another page may have more to do."""
        changed = False
        for record in self.ledger.get_many(ids):
            if record.state is not MessageState.SENT:
                report.skipped += 1  # moved since the index was read
                continue
            sent_at = record.sent_at or record.updated_at
            if cadence.is_overdue(sent_at, now, self.horizon_s):
                report.expired += int(self._expire(record.id))
                changed = True
            elif not is_pollable(record):
                self.ledger.reschedule_poll(record.id, cadence.deadline(sent_at, self.horizon_s))
                report.unpollable += 1
                changed = True
            elif left > 0:
                # Lease first: should the enqueue be lost, the record is due again after it.
                self.ledger.reschedule_poll(record.id, now + self.lease_s)
                enqueue(record.id, record.priority)
                report.dispatched.append(record.id)
                left -= 1
                changed = True
        return changed and left > 0

    # -- one poll (task) -------------------------------------------------------------------------

    def poll(
        self,
        message_id: str,
        client: NusaSMSClient | None = None,
        *,
        client_for: Callable[[str | None], Any] | None = None,
    ) -> PollOutcome:
        """Ask the provider about ``message_id`` and record the answer (see module doc).

        ``client``: the client to ask; or ``client_for``: a function from the record's account
        (the one that sent it) to the client that polls it."""
        try:
            record = self.ledger.get(message_id)
        except RecordNotFound:
            return PollOutcome(PollResult.SKIPPED)
        if record.state is not MessageState.SENT:
            return PollOutcome(PollResult.SKIPPED, record.provider_status, record.state)
        sent_at = record.sent_at or record.updated_at
        asked = client_for(record.account) if client_for is not None else client
        # A provider that never reports delivery (the carrier HTTP API): its messages stay
        # ``sent`` until the horizon.
        if not is_pollable(record) or not reports_delivery(asked):
            self.ledger.reschedule_poll(message_id, cadence.deadline(sent_at, self.horizon_s))
            return PollOutcome(PollResult.SKIPPED)
        assert record.ref_no is not None
        if asked is None:
            raise TypeError("poll() needs a client or client_for")
        try:
            reading, at = self._ask(asked, record.channel, record.ref_no)
        except NusaWorkerError as exc:
            # A failed poll costs nothing but time: the record is asked about again later.
            log.info("poll of message %s failed (%s); will retry", message_id, exc)
            self._reschedule(message_id, sent_at)
            return PollOutcome(PollResult.FAILED)
        if reading.is_final:
            assert reading.state is not None
            self.ledger.update_status(
                message_id,
                reading.state,
                provider_status=reading.provider_status,
                at=at,
                error=reading.error,
            )
            return PollOutcome(PollResult.FINAL, reading.provider_status, reading.state)
        if not reading.known:
            log.warning(
                "message %s: unknown provider status %r, kept verbatim",
                message_id,
                reading.provider_status,
            )
        if reading.provider_status:
            self.ledger.note_provider_status(
                message_id, reading.provider_status, state=MessageState.SENT
            )
        if self._reschedule(message_id, sent_at):
            return PollOutcome(PollResult.PENDING, reading.provider_status, MessageState.SENT)
        return PollOutcome(PollResult.EXPIRED, reading.provider_status, MessageState.EXPIRED)

    def _ask(self, client: Any, channel: str, ref_no: str) -> tuple[Reading, float | None]:
        """The provider's answer about ``ref_no``, and when it saw that status (if it says)."""
        provider = family_of(client)
        if provider == "smsgateway24":
            status = client.get_status(int(ref_no), priority="bulk")
            code = f"{status.status} {status.status_description or ''}".strip()
            state = MessageState(status.state) if status.state else None
            return Reading(code, state or (MessageState.SENT if status.known else None)), None
        if family(channel) == "wa":
            answer = client.get_whatsapp_status(ref_no, priority="bulk")
            reading = read_status(channel, "" if answer.status is None else str(answer.status))
            dates = {
                MessageState.READ: answer.read_date,
                MessageState.DELIVERED: answer.delivered_date,
            }
            return reading, _epoch(dates.get(reading.state)) if reading.state else None
        report = client.get_sms_delivery_report(ref_no, priority="bulk")
        return read_status(channel, report.dr_status or "", err_code=report.err_code), None

    def _reschedule(self, message_id: str, sent_at: float) -> bool:
        """Schedule the next poll by the cadence, or expire at the horizon (``False``)."""
        now = self.clock()
        at = cadence.next_poll_at(sent_at, now, self.horizon_s, self.steps)
        if at is None:
            self._expire(message_id)
            return False
        self.ledger.reschedule_poll(message_id, at)
        return True

    def _expire(self, message_id: str) -> bool:
        try:
            return self.ledger.update_status(message_id, MessageState.EXPIRED, error=EXPIRY_REASON)
        except RecordNotFound:
            return False
