"""The executor: performs, against the ledger and the channel guard, what the table decides.

Every branch of :func:`deliver` is an :class:`~nusaworker.delivery.decide.Action` chosen by
the pure functions of :mod:`nusaworker.delivery.decide`; this module only does them: claims,
the provider hit, the ledger moves, holding, the breaker and its alert. Whatever else escapes
(a record that cannot be read, a bug) ends the record in :mod:`nusaworker.delivery.poison`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from pydantic import ValidationError

from nusaworker.channels import channel as channel_row
from nusaworker.delivery import decide
from nusaworker.delivery.decide import Action, Failure
from nusaworker.delivery.guard import ChannelGuard, Routes
from nusaworker.delivery.poison import end_poisoned, poison_reason
from nusaworker.errors import NusaWorkerError
from nusaworker.fencing import fenced
from nusaworker.ledger import (
    Fenced,
    IllegalTransition,
    Ledger,
    MessageRecord,
    MessageState,
    RecordNotFound,
    describe_error,
)
from nusaworker.ledger.claim import CAMPAIGN_CANCELLED
from nusaworker.ledger.leases import IN_DOUBT_ERROR, LATE_IN_DOUBT_ERROR, resend_in_doubt
from nusaworker.ledger.record import unreadable
from nusaworker.ledger.schedule import expiry_reason
from nusaworker.metrics.instruments import RETRIES, SEND_ERRORS, SENDS, outcome_label
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.transport import before_retry
from nusaworker.retries import RetryRules
from nusaworker.retries import decide as decide_retry

__all__ = ["FIRST_POLL_AFTER_S", "Outcome", "deliver"]

log = logging.getLogger("nusaworker.delivery")

# First status poll of a sent message (a later issue's beat job does the polling).
FIRST_POLL_AFTER_S = 5.0

_DEFAULT_RULES = RetryRules.defaults()


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery attempt.

    ``retry_at``: the message waits in the ledger for a retry due then (beat releases it).
    ``held``: the channel is paused and the message waits in the ledger for its resume.
    ``state`` is ``None`` only for a poisoned record whose stored state this version does not
    know (it is left as it is).
    """

    state: MessageState | None
    retry_at: float | None = None
    error: str | None = None
    held: bool = False


def deliver(
    message_id: str,
    *,
    ledger: Ledger,
    client: NusaSMSClient,
    rules: RetryRules | None = None,
    otp_resend_in_doubt: bool = True,
    circuit: ChannelGuard[Any] | None = None,
    holder: str | None = None,
    routes: Routes | None = None,
) -> Outcome:
    """Claim, send and record one message; never raises for an expected provider outcome.

    ``holder`` is this worker's identity (:func:`nusaworker.liveness.holder`): the claim is
    then a lease that beat resolves within seconds if the worker dies. ``rules`` are the
    retry budgets (default: those of default settings). ``circuit`` pauses channels whose
    account is at fault (:class:`~nusaworker.delivery.guard.ChannelGuard`; without one, auth
    and credit errors are retried later like transient ones). ``routes`` chooses the account
    (its client and guard) from the channel's route instead (:mod:`nusaworker.failover`).

    Raises :class:`~nusaworker.ledger.RecordNotFound` (nothing to deliver), the Redis
    errors of a ledger out of reach (:func:`~nusaworker.delivery.decide.ledger_out_of_reach`:
    the task hands itself back) and our own *retryable* errors met outside the send (the gate
    out of reach before the claim: the record stays ``accepted`` for the replay sweep);
    anything else that goes wrong ends the record (:mod:`nusaworker.delivery.poison`) and the
    task returns.
    """
    claim = _Held()
    try:
        return _deliver(
            message_id,
            claim,
            ledger=ledger,
            client=client,
            rules=rules,
            otp_resend_in_doubt=otp_resend_in_doubt,
            circuit=circuit,
            holder=holder,
            routes=routes,
        )
    except RecordNotFound:
        raise
    except redis.RedisError as exc:
        if decide.ledger_out_of_reach(exc):
            raise
        ended = end_poisoned(ledger, message_id, exc, token=claim.token)
    except Exception as exc:
        if isinstance(exc, NusaWorkerError) and exc.retryable:
            raise  # not poison: a later try may pass (see the docstring)
        ended = end_poisoned(ledger, message_id, exc, token=claim.token)
    return Outcome(state=ended.state, error=ended.error)


@dataclass
class _Held:
    """The claim token this delivery holds, once it holds one (for the poison path)."""

    token: str | None = None


def _deliver(
    message_id: str,
    held_claim: _Held,
    *,
    ledger: Ledger,
    client: NusaSMSClient,
    rules: RetryRules | None,
    otp_resend_in_doubt: bool,
    circuit: ChannelGuard[Any] | None,
    holder: str | None,
    routes: Routes | None,
) -> Outcome:
    record = ledger.get(message_id)
    account: str | None = None
    if routes is not None:
        # A message in doubt may only be sent again by the account whose hit may have gone.
        via = routes.via(record.channel, record.priority, _pinned(record))
        account, client, circuit = via.account, via.client, via.guard
    run = _Run(ledger, record, circuit, rules or _DEFAULT_RULES, account, routes)
    if routes is not None:
        run.provider, run.pinned_to = via.provider, _pinned(record)
    # With routes the choice already looked at the breakers: held only when every account of
    # the route is paused (a second look could see the chosen one pause meanwhile and hold the
    # message on it while another account is free).
    if routes is not None:
        paused = via.held
    else:
        paused = circuit is not None and circuit.is_paused(record.channel)
    action = decide.on_arrival(paused=paused, accepted=record.state is MessageState.ACCEPTED)
    if action is Action.HOLD:
        held = run.guard.hold(message_id, record.channel, run.paused_reason)
        action = decide.on_hold(held, released=False)
        if action is Action.END_HELD:
            return Outcome(state=MessageState.ACCEPTED, held=True)
    paused = action is Action.CLAIM_PAUSED
    resend = resend_in_doubt(record.priority, otp_resend_in_doubt)
    claim = ledger.claim(message_id, holder=holder)
    held_claim.token = claim.token
    action = decide.on_claim(
        claim.outcome,
        token=claim.token is not None,
        paused=paused,
        resend_in_doubt=resend,
        retaken=False,
    )
    if action is Action.RETAKE_IN_DOUBT:
        claim = ledger.claim(message_id, take_in_doubt=True, holder=holder)
        held_claim.token = claim.token
        if routes is not None:
            run.pin(routes, ledger.get(message_id))
        action = decide.on_claim(
            claim.outcome,
            token=claim.token is not None,
            paused=paused,
            resend_in_doubt=resend,
            retaken=True,
        )
    if action is Action.MARK_UNKNOWN or action is Action.MARK_UNKNOWN_LATE:
        error = IN_DOUBT_ERROR if action is Action.MARK_UNKNOWN else LATE_IN_DOUBT_ERROR
        ledger.mark_unknown(message_id, error)
        return Outcome(state=MessageState.UNKNOWN, error=error)
    if action is Action.ABORT:
        aborted = ledger.abort(message_id, CAMPAIGN_CANCELLED)
        return Outcome(state=MessageState.ABORTED if aborted else claim.state)
    if action is Action.END:
        return Outcome(state=claim.state)
    token = claim.token
    assert token is not None  # SEND and RELEASE_AND_HOLD come with a token only
    if action is Action.RELEASE_AND_HOLD:
        # A redelivered task took the record over while its channel is paused: no hit.
        return run.release_and_hold(token, run.paused_reason)
    return run.send(run.client or client, token, claim.attempts)


def _payload_problem(record: MessageRecord) -> str | None:
    """What is wrong with the record's payload for its channel's request model (fields and
    messages, never their values: the payload is the user's data); ``None`` if it validates."""
    try:
        channel_row(record.channel).validate(record.payload)
    except ValidationError as exc:
        return unreadable(exc)
    except (ValueError, TypeError) as exc:
        return type(exc).__name__
    return None


def _pinned(record: MessageRecord) -> str | None:
    return record.account if record.hit_started or record.account_pinned else None


@dataclass
class _Run:
    """One call of :func:`deliver`, past the claim: the actions that need the claim token."""

    ledger: Ledger
    record: MessageRecord
    circuit: ChannelGuard[Any] | None
    rules: RetryRules
    account: str | None = None
    routes: Routes | None = None
    client: Any = None
    provider: str | None = None
    pinned_to: str | None = None  # the account a message in doubt must be sent again by

    def pin(self, routes: Routes, fresh: MessageRecord) -> None:
        """After taking a record in doubt over: send through the account its hit went by."""
        pinned = _pinned(fresh)
        self.pinned_to = pinned
        if pinned is not None and pinned != self.account:
            via = routes.via(fresh.channel, fresh.priority, pinned)
            self.account, self.client, self.circuit = via.account, via.client, via.guard
            self.provider = via.provider

    @property
    def guard(self) -> ChannelGuard[Any]:
        # Only actions the table chooses when a guard paused the channel come here.
        assert self.circuit is not None
        return self.circuit

    @property
    def paused_reason(self) -> str:
        return f"Paused: channel {self.record.channel} is paused; held until it resumes"

    def send(self, client: NusaSMSClient, token: str, attempts: int) -> Outcome:
        """Make the hit (fenced: only while the claim is ours) and act on how it ended."""
        record, ledger = self.record, self.ledger
        if self.pinned_to is not None and self.pinned_to != self.account:
            # Its hit may have gone by an account no longer declared: no other account may
            # send it (that could be a second copy), so it ends in doubt.
            error = f"{IN_DOUBT_ERROR} (by account {self.pinned_to!r}, no longer declared)"
            ledger.mark_unknown(record.id, error, token=token)
            return Outcome(state=MessageState.UNKNOWN, error=error)

        def fence() -> None:
            if not ledger.begin_hit(record.id, token, self.account):
                raise Fenced(record.id, "begin_hit")

        def refused() -> None:
            # The client waits to try again after a hit the provider did not process: a worker
            # that dies during that wait leaves a message to send again, not one in doubt.
            ledger.hit_refused(record.id, token)
            self.error()
            RETRIES.labels(record.channel, self.account_label(client), "transport").inc()

        try:
            with fenced(fence), before_retry(refused):
                # The channel table's client call; an unknown channel is a record that no
                # longer validates (rejected), like a payload that does not.
                row = channel_row(record.channel)
                send = row.senders[self.provider or row.provider]
                ref_no = send(client, record.payload, record.priority, message_id=record.id)
        except redis.RedisError:
            raise  # the ledger's business, not the message's (see decide.ledger_out_of_reach)
        except Exception as exc:
            failure = decide.classify(exc)
            if failure is Failure.NOT_PROCESSED:
                self.error()
            hit_started, problem = False, None
            if failure in (Failure.INVALID_PAYLOAD, Failure.UNEXPECTED):
                hit_started = ledger.fields(record.id, "hit_started")["hit_started"] == "1"
                if failure is Failure.UNEXPECTED and not hit_started:
                    problem = _payload_problem(record)
            action = decide.after_send(
                failure,
                guarded=self.circuit is not None,
                hit_started=hit_started,
                payload_valid=problem is None,
            )
            outcome = self.failed(action, failure, exc, token, attempts, problem)
            return self.counted(outcome, client, exc)
        return self.counted(self.record_sent(token, ref_no), client)

    def account_label(self, client: Any) -> str:
        return self.account or str(getattr(client, "account", "") or "")

    def counted(self, outcome: Outcome, client: Any, exc: BaseException | None = None) -> Outcome:
        """Count one provider call and how its attempt ended (nusaworker.metrics)."""
        channel, account = self.record.channel, self.account_label(client)
        label = outcome_label(outcome.state, retry_at=outcome.retry_at, held=outcome.held)
        SENDS.labels(channel, account, label).inc()
        if exc is not None:
            SEND_ERRORS.labels(channel, account, type(exc).__name__).inc()
        if outcome.retry_at is not None:
            RETRIES.labels(channel, account, "ledger").inc()
        return outcome

    def error(self) -> None:
        if self.routes is not None:
            self.routes.error(self.account, self.record.channel)

    def failed(
        self,
        action: Action,
        failure: Failure,
        exc: BaseException,
        token: str,
        attempts: int,
        problem: str | None = None,
    ) -> Outcome:
        """Perform what the table chose for a send that ended in ``exc``; ``problem``: what is
        wrong with the payload, when that is why it ended."""
        record, ledger = self.record, self.ledger
        error = describe_error(exc)
        if problem is not None:
            error = describe_error(f"InvalidPayload: {problem}")
            log.warning("message %s: %s (%s)", record.id, error, type(exc).__name__)
        elif failure is Failure.UNEXPECTED:
            error = poison_reason(exc)
            log.error("message %s: %s (%s)", record.id, error, action.value, exc_info=exc)
        if action is Action.EXPIRE_IF_LATE:
            if self.expire_if_late(token):
                return Outcome(state=MessageState.EXPIRED, error=expiry_reason(record.validity_s))
            log.info("message %s was taken over by another worker", record.id)
            return Outcome(state=MessageState.SENDING)
        if action is Action.MARK_UNKNOWN:
            ledger.mark_unknown(record.id, error, token=token)
            return Outcome(state=MessageState.UNKNOWN, error=error)
        if action is Action.MARK_REJECTED:
            ledger.mark_rejected(record.id, error, token=token)
            return Outcome(state=MessageState.REJECTED, error=error)
        if action is Action.MARK_FAILED:
            ledger.mark_failed(record.id, error, token=token)
            return Outcome(state=MessageState.FAILED, error=error)
        if action is Action.PAUSE_AND_HOLD:
            return self.pause_and_hold(token, exc)
        assert action is Action.RETRY_OR_END, action
        if failure is Failure.ACCOUNT:
            # No guard to pause the channel: the message is retried within its budget.
            log.error("account refused (%s); message %s kept for retry", exc, record.id)
        return self.retry_or_end(token, attempts, exc)

    def record_sent(self, token: str, ref_no: str | None) -> Outcome:
        try:
            self.ledger.mark_sent(
                self.record.id, token, ref_no, next_poll_at=time.time() + FIRST_POLL_AFTER_S
            )
        except Fenced:
            # Only after an in-doubt OTP was resent by another worker: that send owns the record.
            log.warning(
                "message %s: late answer ref_no=%s after take-over, not recorded",
                self.record.id,
                ref_no,
            )
            return Outcome(state=MessageState.SENDING)
        if self.routes is not None:
            self.routes.sent(self.account, self.record.id, self.record.channel)
        return Outcome(state=MessageState.SENT)

    def pause_and_hold(self, token: str, exc: BaseException) -> Outcome:
        """The account, not the message, is at fault: pause the channel, keep the message."""
        guard = self.guard
        opening = guard.open_for(self.record.channel, exc)
        try:
            if self.elsewhere():
                return self.retry_now(token, describe_error(exc))
            return self.release_and_hold(token, describe_error(exc))
        finally:
            # The record is safe (held) before the alert's slow sinks are called.
            guard.announce(opening)

    def elsewhere(self) -> bool:
        """Whether another account of the route can send the message now (failover)."""
        if self.routes is None or self.record.account_pinned:
            return False
        record = self.record
        return self.routes.via(record.channel, record.priority).account != self.account

    def retry_now(self, token: str, reason: str) -> Outcome:
        """Give the claim back for an immediate retry (beat's release job enqueues it); the
        route's next account takes it then."""
        now = self.guard.clock()
        if not self.release(token, reason, now):
            return self.moved_on()
        self.ledger.schedule_retry(self.record.id, now)
        return Outcome(state=MessageState.ACCEPTED, retry_at=now, error=reason)

    def release_and_hold(self, token: str, reason: str) -> Outcome:
        """Give the claim back and hold the record; if the channel resumed meanwhile, schedule
        it for a retry now instead (beat's release job enqueues it)."""
        guard, record = self.guard, self.record
        if not self.release(token, reason, guard.clock() + guard.hold_s):
            return self.moved_on()
        action = decide.on_hold(guard.hold(record.id, record.channel, reason), released=True)
        if action is Action.END_HELD:
            return Outcome(state=MessageState.ACCEPTED, held=True, error=reason)
        if action is Action.RETRY_NOW:
            now = guard.clock()
            self.ledger.schedule_retry(record.id, now)
            return Outcome(state=MessageState.ACCEPTED, retry_at=now, error=reason)
        # END: another worker (a replay) took the record meanwhile; it owns it now.
        return Outcome(state=self.ledger.get(record.id).state, error=reason)

    def retry_or_end(self, token: str, attempts: int, exc: BaseException) -> Outcome:
        """A transient failure: schedule the retry in the ledger, or end the record (budget
        spent: ``failed``; validity over: ``expired``), as :func:`nusaworker.retries.decide`
        says."""
        record, ledger = self.record, self.ledger
        error = describe_error(exc)
        decision = decide_retry(
            self.rules.budget(record.priority),
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
            log.warning(
                "message %s moved on before its retry (%s); not retried", record.id, moved_on
            )
            return self.moved_on()
        if not moved:
            return self.moved_on()
        log.warning("message %s %s: %s", record.id, decision.state, decision.reason)
        return Outcome(decision.state, error=decision.reason)

    def expire_if_late(self, token: str) -> bool:
        """``begin_hit`` refused the hit: if for the validity (not a take-over), end the record
        ``expired`` — the hit never started, or its earlier attempts were not processed."""
        record, ledger = self.record, self.ledger
        if record.expires_at is None or ledger.clock() < record.expires_at:
            return False
        try:
            return ledger.expire(record.id, from_state=MessageState.SENDING, token=token)
        except Fenced:
            return False  # taken over after all

    def release(self, token: str, error: str, retry_at: float | None = None) -> bool:
        """Give the claim back for a retry; ``False`` if the record moved on without us.

        That happens when this worker was slow enough for its task to be redelivered: the
        second worker marked the record in doubt (``unknown``) or took it over. The record is
        then not ours to retry, and raising would only turn a settled message into a failed
        task.
        """
        try:
            self.ledger.release(self.record.id, token, error, retry_at=retry_at)
        except (Fenced, IllegalTransition) as exc:
            log.warning(
                "message %s moved on before its release (%s); not retried", self.record.id, exc
            )
            return False
        return True

    def moved_on(self) -> Outcome:
        return Outcome(state=self.ledger.get(self.record.id).state)
