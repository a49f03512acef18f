"""What delivering one message does at each step: a pure decision table, no Redis, no HTTP.

:func:`nusaworker.delivery.deliver` asks four questions, in this order, and performs the
:class:`Action` each answer names (:mod:`nusaworker.delivery.execute`); a fifth,
:func:`on_poison`, is asked whenever anything else goes wrong::

    on_arrival   channel paused?   record accepted?
                 no                —                     → CLAIM
                 yes               yes                   → HOLD           (no claim, no hit)
                 yes               no                    → CLAIM_PAUSED   (the claim decides)

    on_hold      hold outcome      after releasing a claim?
                 HELD              no / yes              → END_HELD
                 UNGUARDED         no                    → CLAIM          (resumed since the check)
                 UNGUARDED         yes                   → RETRY_NOW      (resumed meanwhile)
                 NOT_ACCEPTED      no                    → CLAIM_PAUSED   (the claim decides)
                 NOT_ACCEPTED      yes                   → END            (a replay took it)

    on_claim     token?  outcome      resend in doubt?  second claim?  paused?
                 yes     any          —                 —              no   → SEND
                 yes     any          —                 —              yes  → RELEASE_AND_HOLD
                 no      IN_DOUBT     no                no             —    → MARK_UNKNOWN
                 no      IN_DOUBT     yes               no             —    → RETAKE_IN_DOUBT
                 no      IN_DOUBT     —                 yes            —    → MARK_UNKNOWN_LATE
                 no      CANCELLED    —                 —              —    → ABORT
                 no      other        —                 —              —    → END
                 (PAUSED, a paused campaign's record: END; the resume enqueues it again)

    after_send   failure (:func:`classify`)                       guard?  hit?  payload
                 NONE              the provider took it          —       —     —    → RECORD_SENT
                 FENCED            begin_hit refused the hit     —       —     —    → EXPIRE_IF_LATE
                 AMBIGUOUS         AmbiguousOutcome              —       —     —    → MARK_UNKNOWN
                 PERMANENT         PermanentError                —       —     —    → MARK_REJECTED
                 ACCOUNT           AuthError, InsufficientCredit yes     —     —    → PAUSE_AND_HOLD
                 ACCOUNT           AuthError, InsufficientCredit no      —     —    → RETRY_OR_END
                 NOT_PROCESSED     RateLimited, TransientError,  —       —     —    → RETRY_OR_END
                                   any other ProviderError
                 GATE_UNAVAILABLE  GateUnavailable (no hit made) —       —     —    → RETRY_OR_END
                 INVALID_PAYLOAD   any other NusaWorkerError, a  —       no    —    → MARK_REJECTED
                                   stored payload that no longer —       yes   —    → MARK_UNKNOWN
                                   validates
                 UNEXPECTED        any other exception (a bug,   —       yes   —    → MARK_UNKNOWN
                                   an answer no parser foresaw)  —       no    bad  → MARK_REJECTED
                                                                 —       no    ok   → MARK_FAILED

    on_poison    where the exception left the record       → the end it is given (never retried)
                 accepted (this task holds no claim)       → MARK_REJECTED
                 sending, claimed by this task, no hit     → MARK_FAILED
                 sending, claimed by this task, hit begun  → MARK_UNKNOWN
                 anything else (another task's claim, a    → END: not this task's to end
                 later state, a state nobody knows)

"Hit?" is the record's ``hit_started`` when the error came: a hit that may have reached the
provider is never followed by another (unknown), whatever broke afterwards. "Payload" says
whether the stored payload still validates against its channel's request model (looked at
only then: a ``TypeError`` out of a payload that lost a field is the payload's fault, not a
bug). A failure no retry can fix never goes back to the queue: the task ends, the record is
final, and an operator finds it with ``nusaworker dead-letters``.

Redis errors are not failures of the message: :func:`ledger_out_of_reach` tells the ones
where Redis is out of reach (the task is handed back to the broker, the one requeue) from the
ones where Redis answered and refused — a key of the wrong type, a field a script cannot read
— which would refuse the same again and are poison like the rest.

"Paused" and "guard" refer to the channel guard (:class:`nusaworker.delivery.guard.ChannelGuard`,
the credit circuit in a worker); without one nothing is ever paused. "Resend in doubt" is the
in-doubt policy (:func:`nusaworker.ledger.leases.resend_in_doubt`: OTPs only, when enabled).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import redis
from pydantic import ValidationError

from nusaworker.errors import GateUnavailable, NusaWorkerError
from nusaworker.ledger.claim import ClaimOutcome
from nusaworker.ledger.errors import Fenced
from nusaworker.ledger.held import HoldOutcome
from nusaworker.ledger.states import MessageState
from nusaworker.providers.errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
)

__all__ = [
    "Action",
    "Failure",
    "after_send",
    "classify",
    "ledger_out_of_reach",
    "on_arrival",
    "on_claim",
    "on_hold",
    "on_poison",
]


class Action(StrEnum):
    """What :func:`~nusaworker.delivery.deliver` does next."""

    #: Claim the record (accepted → sending) and go on to send.
    CLAIM = "claim"
    #: Claim the record although its channel is paused: a token means release and hold.
    CLAIM_PAUSED = "claim_paused"
    #: Hold the ``accepted`` record until the channel resumes; no claim, no hit.
    HOLD = "hold"
    #: Stop: the record is held (``accepted``) and the resume re-enqueues it.
    END_HELD = "end_held"
    #: Stop: nothing is ours to do (not claimable, expired, another worker's); report its state.
    END = "end"
    #: Claim the in-doubt record again, taking it over, to resend it (the OTP policy).
    RETAKE_IN_DOUBT = "retake_in_doubt"
    #: End the record ``unknown``: its hit may have reached the provider; never resent.
    MARK_UNKNOWN = "mark_unknown"
    #: End an in-doubt OTP ``unknown`` without resending: it is past its validity.
    MARK_UNKNOWN_LATE = "mark_unknown_late"
    #: End the record ``aborted``: its campaign was cancelled before it was claimed.
    ABORT = "abort"
    #: Make the provider hit.
    SEND = "send"
    #: The channel is paused while this task holds the claim: give it back and hold; no hit.
    RELEASE_AND_HOLD = "release_and_hold"
    #: Record ``sent`` with the provider's ref_no; the poller follows it from there.
    RECORD_SENT = "record_sent"
    #: Fenced out before the hit: end ``expired`` if past the validity, else it was taken over.
    EXPIRE_IF_LATE = "expire_if_late"
    #: End the record ``rejected``: the provider (or validation) refused it for good.
    MARK_REJECTED = "mark_rejected"
    #: End the record ``failed``: an error no retry can fix, before any hit.
    MARK_FAILED = "mark_failed"
    #: The account is at fault: open the channel's breaker, release and hold, then alert.
    PAUSE_AND_HOLD = "pause_and_hold"
    #: The hit was not processed: retry later from the ledger, or end (failed / expired).
    RETRY_OR_END = "retry_or_end"
    #: The channel resumed between the release and the hold: due for a retry now.
    RETRY_NOW = "retry_now"


class Failure(StrEnum):
    """How the attempt to send ended, as far as the decision goes (see :func:`classify`)."""

    NONE = "none"
    FENCED = "fenced"
    AMBIGUOUS = "ambiguous"
    PERMANENT = "permanent"
    ACCOUNT = "account"
    NOT_PROCESSED = "not_processed"
    GATE_UNAVAILABLE = "gate_unavailable"
    INVALID_PAYLOAD = "invalid_payload"
    UNEXPECTED = "unexpected"


# Most specific first: the first class that matches decides.
_FAILURES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Failure], ...] = (
    (Fenced, Failure.FENCED),
    (AmbiguousOutcome, Failure.AMBIGUOUS),
    (PermanentError, Failure.PERMANENT),
    ((AuthError, InsufficientCredit), Failure.ACCOUNT),
    (ProviderError, Failure.NOT_PROCESSED),
    (GateUnavailable, Failure.GATE_UNAVAILABLE),
)


def classify(exc: BaseException) -> Failure:
    """The :class:`Failure` an error met while sending stands for.

    nusaworker's own errors and pydantic's are the expected outcomes; anything else is
    :attr:`Failure.UNEXPECTED` (Redis errors never get here: the executor lets them through
    to the task, see :func:`ledger_out_of_reach`).
    """
    for classes, failure in _FAILURES:
        if isinstance(exc, classes):
            return failure
    if isinstance(exc, NusaWorkerError | ValidationError):
        # Another NusaWorkerError or a ValidationError: the stored payload no longer validates.
        return Failure.INVALID_PAYLOAD
    return Failure.UNEXPECTED


def on_arrival(*, paused: bool, accepted: bool) -> Action:
    """Before the claim: hold an ``accepted`` record of a paused channel instead of claiming."""
    if not paused:
        return Action.CLAIM
    return Action.HOLD if accepted else Action.CLAIM_PAUSED


_ON_HOLD: Mapping[tuple[HoldOutcome, bool], Action] = {
    (HoldOutcome.HELD, False): Action.END_HELD,
    (HoldOutcome.UNGUARDED, False): Action.CLAIM,
    (HoldOutcome.NOT_ACCEPTED, False): Action.CLAIM_PAUSED,
    (HoldOutcome.HELD, True): Action.END_HELD,
    (HoldOutcome.UNGUARDED, True): Action.RETRY_NOW,
    (HoldOutcome.NOT_ACCEPTED, True): Action.END,
}


def on_hold(held: HoldOutcome, *, released: bool) -> Action:
    """After holding the record: on arrival (``released=False``) or after giving back a claim."""
    return _ON_HOLD[held, released]


def on_claim(
    outcome: ClaimOutcome,
    *,
    token: bool,
    paused: bool,
    resend_in_doubt: bool,
    retaken: bool,
) -> Action:
    """After a claim: ``token`` whether it handed one out, ``retaken`` whether this was the
    second claim of an in-doubt record (``take_in_doubt=True``)."""
    if token:
        return Action.RELEASE_AND_HOLD if paused else Action.SEND
    if outcome is ClaimOutcome.CANCELLED:
        return Action.ABORT
    if outcome is not ClaimOutcome.IN_DOUBT:
        return Action.END
    if retaken:
        # Asked to resend and still refused a token: past its validity a code is no use.
        return Action.MARK_UNKNOWN_LATE
    return Action.RETAKE_IN_DOUBT if resend_in_doubt else Action.MARK_UNKNOWN


_AFTER_SEND: Mapping[Failure, Action] = {
    Failure.NONE: Action.RECORD_SENT,
    Failure.FENCED: Action.EXPIRE_IF_LATE,
    Failure.AMBIGUOUS: Action.MARK_UNKNOWN,
    Failure.PERMANENT: Action.MARK_REJECTED,
    Failure.ACCOUNT: Action.PAUSE_AND_HOLD,
    Failure.NOT_PROCESSED: Action.RETRY_OR_END,
    Failure.GATE_UNAVAILABLE: Action.RETRY_OR_END,
    Failure.INVALID_PAYLOAD: Action.MARK_REJECTED,
}


def after_send(
    failure: Failure, *, guarded: bool, hit_started: bool = False, payload_valid: bool = True
) -> Action:
    """After the provider hit (or the attempt at one); ``guarded``: a channel guard is there
    to pause the channel when the account is at fault. ``hit_started`` and ``payload_valid``
    matter for the failures nobody foresaw (see the table): the executor reads them then."""
    if failure is Failure.ACCOUNT and not guarded:
        # Nothing can pause the channel: retried later like a transient error, within budget.
        return Action.RETRY_OR_END
    if failure in (Failure.INVALID_PAYLOAD, Failure.UNEXPECTED) and hit_started:
        # Whatever broke, the hit may have reached the provider: never another.
        return Action.MARK_UNKNOWN
    if failure is Failure.UNEXPECTED:
        return Action.MARK_FAILED if payload_valid else Action.MARK_REJECTED
    return _AFTER_SEND[failure]


def on_poison(state: str | None, *, holding: bool, hit_started: bool) -> Action:
    """Where an exception nobody handled leaves a record, and the end it is given.

    ``state`` is the record's stored state (``None``: no such field), ``holding`` whether this
    task holds the record's claim, ``hit_started`` whether its hit began. Nothing here goes
    back to a queue: a record this task may end, it ends; one it may not, it leaves.
    """
    if state == MessageState.ACCEPTED and not holding:
        return Action.MARK_REJECTED
    if state == MessageState.SENDING and holding:
        return Action.MARK_UNKNOWN if hit_started else Action.MARK_FAILED
    return Action.END


# Redis answers that mean "not now" rather than "not this": a server loading its data, a
# replica promoted or demoted, memory full, a script busy, a cluster re-sharding. redis-py
# turns some into classes of their own (without the code in the text), the rest stay
# ResponseErrors that start with the code.
_TRANSIENT_CLASSES: tuple[type[redis.RedisError], ...] = tuple(
    getattr(redis.exceptions, name)
    for name in (
        "ReadOnlyError",
        "OutOfMemoryError",
        "TryAgainError",
        "ClusterDownError",
        "MasterDownError",
    )
    if hasattr(redis.exceptions, name)
)
_TRANSIENT_CODES = ("LOADING", "READONLY", "OOM", "BUSY", "MASTERDOWN", "TRYAGAIN",
                    "CLUSTERDOWN", "NOREPLICAS")  # fmt: skip


def ledger_out_of_reach(exc: redis.RedisError) -> bool:
    """Whether a Redis error means the ledger is out of reach for now (hand the task back),
    rather than a refusal of this record that would come again (poison: end it)."""
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, *_TRANSIENT_CLASSES)):
        return True
    if isinstance(exc, redis.ResponseError):
        return str(exc).lstrip().upper().startswith(_TRANSIENT_CODES)
    # DataError, AuthenticationError … and the rest: a request Redis will refuse again.
    return False
