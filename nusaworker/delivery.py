"""Delivering one message: the logic behind the ``send`` task, free of Celery.

    claim (accepted → sending) ─▶ gate slot ─▶ fence (begin_hit) ─▶ provider hit ─▶ record

What each outcome does to the record:

    provider accepted      → sent (ref_no), polled later
    PermanentError         → rejected, with the reason
    AuthError, credit      → the channel's circuit breaker opens (fleet-wide, one alert) and the
                             message is held: accepted, re-enqueued when the channel resumes
    RateLimited, Transient → retried later (the provider did not process it): back to accepted,
                             on the ledger's retry index; or, past its budget, failed (the last
                             reason), past its validity, expired — see nusaworker.retries
    GateUnavailable        → the same (no hit was made)
    AmbiguousOutcome       → unknown (the hit may have reached the provider; never resent)
    Fenced                 → nothing: another worker owns the message now

The task ends in every case: a retry is released by beat from the ledger, never by a Celery
countdown. A record past its validity is never claimed: the claim moves it to ``expired``.

A message whose channel is paused (its breaker is open: :mod:`nusaworker.credit`) is neither
claimed nor sent: it is held in the ledger (``accepted``, with a ``retry_at``) and the task
ends; nothing is failed for a pause. Without a circuit (``circuit=None``) auth and credit
errors are retried later like transient ones, within the budget.

A redelivered task (its first worker died) finds the record in ``sending``. If the first
attempt never started its hit, this one takes over and sends. If it had started, the outcome
is in doubt: OTPs are resent when ``otp_resend_in_doubt`` is on (a duplicate code beats a lost
one); everything else ends ``unknown``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nusaworker.credit.circuit import Circuit
from nusaworker.errors import GateUnavailable, NusaWorkerError
from nusaworker.fencing import fenced
from nusaworker.ledger import (
    ClaimOutcome,
    Fenced,
    IllegalTransition,
    Ledger,
    MessageRecord,
    MessageState,
    describe_error,
)
from nusaworker.ledger.held import HoldOutcome
from nusaworker.ledger.leases import IN_DOUBT_ERROR, resend_in_doubt
from nusaworker.ledger.schedule import expiry_reason
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
)
from nusaworker.providers.transport import before_retry
from nusaworker.retries import RetryRules, decide

log = logging.getLogger(__name__)

# First status poll of a sent message (a later issue's beat job does the polling).
FIRST_POLL_AFTER_S = 5.0

_DEFAULT_RULES = RetryRules.defaults()


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery attempt.

    ``retry_at``: the message waits in the ledger for a retry due then (beat releases it).
    ``held``: the channel is paused and the message waits in the ledger for its resume.
    """

    state: MessageState
    retry_at: float | None = None
    error: str | None = None
    held: bool = False


Sender = Callable[[NusaSMSClient, MessageRecord], "str | None"]


def _send_wa(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = dict(rec.payload)
    return client.send_whatsapp(
        fields.pop("destination"), fields.pop("message"), priority=rec.priority, **fields
    ).ref_no


def _send_wa_media(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = dict(rec.payload)
    return client.send_whatsapp_media(
        fields.pop("destination"), priority=rec.priority, **fields
    ).ref_no


def _send_wa_official(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    return client.send_wa_official_broadcast(priority=rec.priority, **rec.payload).ref_no


def _send_wa_official_reply(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    return client.send_wa_official_reply(priority=rec.priority, **rec.payload).ref_no


def _send_sms(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = dict(rec.payload)
    return client.send_sms(
        fields.pop("destination"), fields.pop("text"), priority=rec.priority, **fields
    ).ref_no


def _check_numbers(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = rec.payload
    client.check_whatsapp_numbers(
        fields["phone_numbers"], fields.get("callback_url"), priority=rec.priority
    )
    return None  # results arrive by callback; the check has no ref_no of its own


SENDERS: dict[str, Sender] = {
    "wa": _send_wa,
    "wa_media": _send_wa_media,
    "wa_official": _send_wa_official,
    "wa_official_reply": _send_wa_official_reply,
    "sms": _send_sms,
    "check": _check_numbers,
}


def deliver(
    message_id: str,
    *,
    ledger: Ledger,
    client: NusaSMSClient,
    rules: RetryRules | None = None,
    otp_resend_in_doubt: bool = True,
    circuit: Circuit | None = None,
    holder: str | None = None,
) -> Outcome:
    """Claim, send and record one message; never raises for an expected provider outcome.

    ``holder`` is this worker's identity (:func:`nusaworker.liveness.holder`): the claim is
    then a lease that beat resolves within seconds if the worker dies. ``rules`` are the
    retry budgets (default: those of default settings).
    """
    rules = rules or _DEFAULT_RULES
    record = ledger.get(message_id)
    paused = circuit is not None and circuit.is_paused(record.channel)
    if circuit is not None and paused and record.state is MessageState.ACCEPTED:
        held = circuit.hold(message_id, record.channel, _paused_reason(record.channel))
        if held is HoldOutcome.HELD:
            return Outcome(state=MessageState.ACCEPTED, held=True)
        # UNGUARDED: resumed since the check, send as usual; NOT_ACCEPTED: the claim decides.
        paused = held is not HoldOutcome.UNGUARDED
    claim = ledger.claim(message_id, holder=holder)
    if claim.outcome in (ClaimOutcome.NOT_CLAIMABLE, ClaimOutcome.EXPIRED):
        return Outcome(state=claim.state)
    if claim.outcome is ClaimOutcome.IN_DOUBT:
        if not resend_in_doubt(record.priority, otp_resend_in_doubt):
            ledger.mark_unknown(message_id, IN_DOUBT_ERROR)
            return Outcome(state=MessageState.UNKNOWN, error=IN_DOUBT_ERROR)
        claim = ledger.claim(message_id, take_in_doubt=True, holder=holder)
        if claim.token is None and claim.outcome is ClaimOutcome.IN_DOUBT:
            # Past its validity an OTP in doubt is not resent: a late code is no use.
            error = f"{IN_DOUBT_ERROR}; not resent: past its validity"
            ledger.mark_unknown(message_id, error)
            return Outcome(state=MessageState.UNKNOWN, error=error)
        if claim.token is None:
            return Outcome(state=claim.state)
    token = claim.token
    assert token is not None
    if circuit is not None and paused:
        # A redelivered task took the record over while its channel is paused: no hit.
        reason = _paused_reason(record.channel)
        if not _release(ledger, message_id, token, reason, circuit.clock() + circuit.hold_s):
            return _moved_on(ledger, message_id)
        return _hold_released(circuit, record, reason)
    sender = SENDERS[record.channel]

    def fence() -> None:
        if not ledger.begin_hit(message_id, token):
            raise Fenced(message_id, "begin_hit")

    def refused() -> None:
        # The client waits to try again after a hit the provider did not process: a worker
        # that dies during that wait leaves a message to send again, not one in doubt.
        ledger.hit_refused(message_id, token)

    try:
        with fenced(fence), before_retry(refused):
            ref_no = sender(client, record)
    except Fenced:
        if _expire_if_late(ledger, record, token):
            return Outcome(state=MessageState.EXPIRED, error=expiry_reason(record.validity_s))
        log.info("message %s was taken over by another worker", message_id)
        return Outcome(state=MessageState.SENDING)
    except AmbiguousOutcome as exc:
        ledger.mark_unknown(message_id, describe_error(exc), token=token)
        return Outcome(state=MessageState.UNKNOWN, error=describe_error(exc))
    except PermanentError as exc:
        ledger.mark_rejected(message_id, describe_error(exc), token=token)
        return Outcome(state=MessageState.REJECTED, error=describe_error(exc))
    except (AuthError, InsufficientCredit) as exc:
        # The account, not the message, is at fault: pause the channel and keep the message.
        if circuit is None:
            log.error("account refused (%s); message %s kept for retry", exc, message_id)
            return _retry_or_end(ledger, rules, record, token, claim.attempts, exc)
        opening = circuit.open_for(record.channel, exc)
        retry_at = circuit.clock() + circuit.hold_s
        try:
            if not _release(ledger, message_id, token, describe_error(exc), retry_at):
                return _moved_on(ledger, message_id)
            return _hold_released(circuit, record, describe_error(exc))
        finally:
            # The record is safe (held) before the alert's slow sinks are called.
            circuit.announce(opening)
    except (ProviderError, GateUnavailable) as exc:
        # The provider did not process this hit (or no hit was made): safe to try again.
        return _retry_or_end(ledger, rules, record, token, claim.attempts, exc)
    except (NusaWorkerError, ValidationError) as exc:  # a stored payload that no longer validates
        ledger.mark_rejected(message_id, describe_error(exc), token=token)
        return Outcome(state=MessageState.REJECTED, error=describe_error(exc))
    try:
        ledger.mark_sent(message_id, token, ref_no, next_poll_at=time.time() + FIRST_POLL_AFTER_S)
    except Fenced:
        # Only after an in-doubt OTP was resent by another worker: that send owns the record.
        log.warning(
            "message %s: late answer ref_no=%s after take-over, not recorded", message_id, ref_no
        )
        return Outcome(state=MessageState.SENDING)
    return Outcome(state=MessageState.SENT)


def _retry_or_end(
    ledger: Ledger,
    rules: RetryRules,
    record: MessageRecord,
    token: str,
    attempts: int,
    exc: BaseException,
) -> Outcome:
    """A transient failure: schedule the retry in the ledger, or end the record (budget spent:
    ``failed``; validity over: ``expired``), as :func:`nusaworker.retries.decide` says."""
    error = describe_error(exc)
    decision = decide(
        rules.budget(record.priority),
        attempts=attempts,
        error=error,
        created_at=record.created_at,
        now=ledger.clock(),
        expires_at=record.expires_at,
        validity_s=record.validity_s,
    )
    try:
        if decision.retry_at is not None:
            ledger.retry_later(record.id, token, error, retry_at=decision.retry_at)
            return Outcome(MessageState.ACCEPTED, retry_at=decision.retry_at, error=error)
        if decision.state is MessageState.EXPIRED:
            moved = ledger.expire(
                record.id, from_state=MessageState.SENDING, token=token, reason=decision.reason
            )
        else:
            moved = ledger.mark_failed(record.id, decision.reason, token=token)
    except (Fenced, IllegalTransition) as moved_on:
        # Slow enough for the task to be redelivered: the record is another worker's now.
        log.warning("message %s moved on before its retry (%s); not retried", record.id, moved_on)
        return _moved_on(ledger, record.id)
    if not moved:
        return _moved_on(ledger, record.id)
    log.warning("message %s %s: %s", record.id, decision.state, decision.reason)
    return Outcome(decision.state, error=decision.reason)


def _expire_if_late(ledger: Ledger, record: MessageRecord, token: str) -> bool:
    """``begin_hit`` refused the hit: if for the validity (not a take-over), end the record
    ``expired`` — the hit never started, or its earlier attempts were not processed."""
    if record.expires_at is None or ledger.clock() < record.expires_at:
        return False
    try:
        return ledger.expire(record.id, from_state=MessageState.SENDING, token=token)
    except Fenced:
        return False  # taken over after all


def _release(
    ledger: Ledger, message_id: str, token: str, error: str, retry_at: float | None = None
) -> bool:
    """Give the claim back for a retry; ``False`` if the record moved on without us.

    That happens when this worker was slow enough for its task to be redelivered: the second
    worker marked the record in doubt (``unknown``) or took it over. The record is then not
    ours to retry, and raising would only turn a settled message into a failed task.
    """
    try:
        ledger.release(message_id, token, error, retry_at=retry_at)
    except (Fenced, IllegalTransition) as exc:
        log.warning("message %s moved on before its release (%s); not retried", message_id, exc)
        return False
    return True


def _moved_on(ledger: Ledger, message_id: str) -> Outcome:
    return Outcome(state=ledger.get(message_id).state)


def _paused_reason(channel: str) -> str:
    return f"Paused: channel {channel} is paused; held until it resumes"


def _hold_released(circuit: Circuit, record: MessageRecord, reason: str) -> Outcome:
    """Hold a record just released back to ``accepted``; if the channel resumed meanwhile,
    schedule it for a retry now instead (beat's release job enqueues it)."""
    held = circuit.hold(record.id, record.channel, reason)
    if held is HoldOutcome.HELD:
        return Outcome(state=MessageState.ACCEPTED, held=True, error=reason)
    if held is HoldOutcome.UNGUARDED:
        now = circuit.clock()
        circuit.ledger.schedule_retry(record.id, now)
        return Outcome(state=MessageState.ACCEPTED, retry_at=now, error=reason)
    # NOT_ACCEPTED: another worker (a replay) took the record meanwhile; it owns it now.
    return Outcome(state=circuit.ledger.get(record.id).state, error=reason)


def payload_of(model: Any) -> dict[str, Any]:
    """The JSON-safe provider fields of a validated request model, for the ledger."""
    return dict(model.model_dump(mode="json", exclude_none=True))
