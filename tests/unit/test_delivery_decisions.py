"""Every row of delivery's decision table (nusaworker.delivery.decide): pure, no Redis."""

from __future__ import annotations

import itertools

import pytest
import redis
from pydantic import BaseModel, ValidationError

from nusaworker.delivery import Action, Failure
from nusaworker.delivery.decide import (
    after_send,
    classify,
    ledger_out_of_reach,
    on_arrival,
    on_claim,
    on_hold,
    on_poison,
)
from nusaworker.errors import ConfigurationError, GateUnavailable, NusaWorkerError
from nusaworker.ledger import (
    ClaimOutcome,
    CorruptRecord,
    Fenced,
    IllegalTransition,
    MessageState,
    RecordNotFound,
)
from nusaworker.ledger.held import HoldOutcome
from nusaworker.providers.errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)

# -- on_arrival ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paused", "accepted", "expected"),
    [
        (False, True, Action.CLAIM),
        (False, False, Action.CLAIM),
        (True, True, Action.HOLD),
        (True, False, Action.CLAIM_PAUSED),
    ],
)
def test_on_arrival_holds_only_an_accepted_record_of_a_paused_channel(
    paused: bool, accepted: bool, expected: Action
) -> None:
    assert on_arrival(paused=paused, accepted=accepted) is expected


# -- on_hold ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "released", "expected"),
    [
        (HoldOutcome.HELD, False, Action.END_HELD),
        (HoldOutcome.UNGUARDED, False, Action.CLAIM),
        (HoldOutcome.NOT_ACCEPTED, False, Action.CLAIM_PAUSED),
        (HoldOutcome.HELD, True, Action.END_HELD),
        (HoldOutcome.UNGUARDED, True, Action.RETRY_NOW),
        (HoldOutcome.NOT_ACCEPTED, True, Action.END),
    ],
)
def test_on_hold_row(held: HoldOutcome, released: bool, expected: Action) -> None:
    assert on_hold(held, released=released) is expected


def test_on_hold_covers_every_hold_outcome() -> None:
    for held, released in itertools.product(HoldOutcome, (False, True)):
        assert isinstance(on_hold(held, released=released), Action)


# -- on_claim -----------------------------------------------------------------------------------

# (outcome, token, paused, resend_in_doubt, retaken) -> action, for every reachable claim.
CLAIM_ROWS = [
    # The first claim.
    (ClaimOutcome.CLAIMED, True, False, False, False, Action.SEND),
    (ClaimOutcome.CLAIMED, True, False, True, False, Action.SEND),
    (ClaimOutcome.CLAIMED, True, True, False, False, Action.RELEASE_AND_HOLD),
    (ClaimOutcome.TAKEN_OVER, True, False, False, False, Action.SEND),
    (ClaimOutcome.TAKEN_OVER, True, True, True, False, Action.RELEASE_AND_HOLD),
    (ClaimOutcome.NOT_CLAIMABLE, False, False, False, False, Action.END),
    (ClaimOutcome.NOT_CLAIMABLE, False, True, True, False, Action.END),
    (ClaimOutcome.EXPIRED, False, False, True, False, Action.END),
    (ClaimOutcome.EXPIRED, False, True, False, False, Action.END),
    (ClaimOutcome.IN_DOUBT, False, False, False, False, Action.MARK_UNKNOWN),
    (ClaimOutcome.IN_DOUBT, False, True, False, False, Action.MARK_UNKNOWN),
    (ClaimOutcome.IN_DOUBT, False, False, True, False, Action.RETAKE_IN_DOUBT),
    (ClaimOutcome.IN_DOUBT, False, True, True, False, Action.RETAKE_IN_DOUBT),
    # The second claim of an in-doubt OTP (take_in_doubt=True).
    (ClaimOutcome.IN_DOUBT, True, False, True, True, Action.SEND),
    (ClaimOutcome.IN_DOUBT, True, True, True, True, Action.RELEASE_AND_HOLD),
    (ClaimOutcome.IN_DOUBT, False, False, True, True, Action.MARK_UNKNOWN_LATE),
    (ClaimOutcome.TAKEN_OVER, True, False, True, True, Action.SEND),
    (ClaimOutcome.NOT_CLAIMABLE, False, False, True, True, Action.END),
    (ClaimOutcome.EXPIRED, False, False, True, True, Action.END),
]


@pytest.mark.parametrize(
    ("outcome", "token", "paused", "resend", "retaken", "expected"), CLAIM_ROWS
)
def test_on_claim_row(
    outcome: ClaimOutcome,
    token: bool,
    paused: bool,
    resend: bool,
    retaken: bool,
    expected: Action,
) -> None:
    got = on_claim(outcome, token=token, paused=paused, resend_in_doubt=resend, retaken=retaken)
    assert got is expected


def test_on_claim_every_combination_is_decided() -> None:
    for outcome, token, paused, resend, retaken in itertools.product(
        ClaimOutcome, *[(False, True)] * 4
    ):
        action = on_claim(
            outcome, token=token, paused=paused, resend_in_doubt=resend, retaken=retaken
        )
        # A token is the only way to a hit, and never sent while paused.
        assert (action is Action.SEND) == (token and not paused)
        assert (action is Action.RELEASE_AND_HOLD) == (token and paused)


def test_on_claim_never_resends_in_doubt_unless_the_policy_allows() -> None:
    for paused, retaken in itertools.product((False, True), repeat=2):
        action = on_claim(
            ClaimOutcome.IN_DOUBT,
            token=False,
            paused=paused,
            resend_in_doubt=False,
            retaken=retaken,
        )
        assert action in (Action.MARK_UNKNOWN, Action.MARK_UNKNOWN_LATE)


# -- classify -----------------------------------------------------------------------------------


class _Payload(BaseModel):
    destination: str


def _validation_error() -> ValidationError:
    try:
        _Payload.model_validate({})
    except ValidationError as exc:
        return exc
    raise AssertionError("the payload validated")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (Fenced("m1", "begin_hit"), Failure.FENCED),
        (AmbiguousOutcome("read timeout"), Failure.AMBIGUOUS),
        (PermanentError("HTTP 422", status_code=422), Failure.PERMANENT),
        (AuthError("HTTP 401", status_code=401), Failure.ACCOUNT),
        (InsufficientCredit("HTTP 402", status_code=402), Failure.ACCOUNT),
        (RateLimited("HTTP 429", retry_after=1.0), Failure.NOT_PROCESSED),
        (TransientError("HTTP 503", status_code=503), Failure.NOT_PROCESSED),
        (ProviderError("something else"), Failure.NOT_PROCESSED),
        (GateUnavailable("redis down"), Failure.GATE_UNAVAILABLE),
        (ConfigurationError("bad field"), Failure.INVALID_PAYLOAD),
        (NusaWorkerError("anything"), Failure.INVALID_PAYLOAD),
        (IllegalTransition("m1", "sent", "sending"), Failure.INVALID_PAYLOAD),
        (RecordNotFound("m1"), Failure.INVALID_PAYLOAD),
        (CorruptRecord("m1", "payload: not JSON"), Failure.INVALID_PAYLOAD),
        (_validation_error(), Failure.INVALID_PAYLOAD),
        # What nobody foresaw: a bug, a payload that lost a field, a parser's slip.
        (KeyError("destination"), Failure.UNEXPECTED),
        (TypeError("missing 1 required positional argument"), Failure.UNEXPECTED),
        (RecursionError("maximum recursion depth exceeded"), Failure.UNEXPECTED),
        (ValueError("not a number"), Failure.UNEXPECTED),
        (AttributeError("'NoneType' object has no attribute 'ref_no'"), Failure.UNEXPECTED),
    ],
)
def test_classify_maps_each_error_class(exc: BaseException, expected: Failure) -> None:
    assert classify(exc) is expected


def test_classify_subclass_of_a_provider_error_keeps_its_parent_row() -> None:
    class Quota(InsufficientCredit):
        pass

    class Flaky(TransientError):
        pass

    assert classify(Quota("x")) is Failure.ACCOUNT
    assert classify(Flaky("x")) is Failure.NOT_PROCESSED


# -- after_send ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "guarded", "expected"),
    [
        (Failure.NONE, True, Action.RECORD_SENT),
        (Failure.NONE, False, Action.RECORD_SENT),
        (Failure.FENCED, True, Action.EXPIRE_IF_LATE),
        (Failure.FENCED, False, Action.EXPIRE_IF_LATE),
        (Failure.AMBIGUOUS, True, Action.MARK_UNKNOWN),
        (Failure.AMBIGUOUS, False, Action.MARK_UNKNOWN),
        (Failure.PERMANENT, True, Action.MARK_REJECTED),
        (Failure.PERMANENT, False, Action.MARK_REJECTED),
        (Failure.ACCOUNT, True, Action.PAUSE_AND_HOLD),
        (Failure.ACCOUNT, False, Action.RETRY_OR_END),
        (Failure.NOT_PROCESSED, True, Action.RETRY_OR_END),
        (Failure.NOT_PROCESSED, False, Action.RETRY_OR_END),
        (Failure.GATE_UNAVAILABLE, True, Action.RETRY_OR_END),
        (Failure.GATE_UNAVAILABLE, False, Action.RETRY_OR_END),
        (Failure.INVALID_PAYLOAD, True, Action.MARK_REJECTED),
        (Failure.INVALID_PAYLOAD, False, Action.MARK_REJECTED),
        (Failure.UNEXPECTED, True, Action.MARK_FAILED),
        (Failure.UNEXPECTED, False, Action.MARK_FAILED),
    ],
)
def test_after_send_row(failure: Failure, guarded: bool, expected: Action) -> None:
    assert after_send(failure, guarded=guarded) is expected


@pytest.mark.parametrize(
    ("failure", "hit_started", "payload_valid", "expected"),
    [
        (Failure.UNEXPECTED, False, True, Action.MARK_FAILED),
        (Failure.UNEXPECTED, False, False, Action.MARK_REJECTED),
        (Failure.UNEXPECTED, True, True, Action.MARK_UNKNOWN),
        (Failure.UNEXPECTED, True, False, Action.MARK_UNKNOWN),
        (Failure.INVALID_PAYLOAD, False, False, Action.MARK_REJECTED),
        (Failure.INVALID_PAYLOAD, True, False, Action.MARK_UNKNOWN),
    ],
)
def test_after_send_unforeseen_failures_row(
    failure: Failure, hit_started: bool, payload_valid: bool, expected: Action
) -> None:
    for guarded in (False, True):
        decided = after_send(
            failure, guarded=guarded, hit_started=hit_started, payload_valid=payload_valid
        )
        assert decided is expected


def test_after_send_rows_cover_every_failure() -> None:
    for failure, guarded, hit, valid in itertools.product(Failure, *[(False, True)] * 3):
        assert isinstance(
            after_send(failure, guarded=guarded, hit_started=hit, payload_valid=valid), Action
        )


def test_after_send_what_no_retry_can_fix_never_goes_back_to_a_queue() -> None:
    for failure, guarded, hit, valid in itertools.product(
        (Failure.INVALID_PAYLOAD, Failure.UNEXPECTED, Failure.PERMANENT, Failure.AMBIGUOUS),
        *[(False, True)] * 3,
    ):
        action = after_send(failure, guarded=guarded, hit_started=hit, payload_valid=valid)
        assert action in (Action.MARK_REJECTED, Action.MARK_FAILED, Action.MARK_UNKNOWN)


def test_after_send_a_hit_that_may_have_gone_ends_unknown_whatever_broke() -> None:
    for failure, guarded, valid in itertools.product(
        (Failure.INVALID_PAYLOAD, Failure.UNEXPECTED, Failure.AMBIGUOUS),
        (False, True),
        (False, True),
    ):
        action = after_send(failure, guarded=guarded, hit_started=True, payload_valid=valid)
        assert action is Action.MARK_UNKNOWN


def test_after_send_an_ambiguous_hit_is_never_retried() -> None:
    for guarded in (False, True):
        assert after_send(Failure.AMBIGUOUS, guarded=guarded) not in (
            Action.RETRY_OR_END,
            Action.PAUSE_AND_HOLD,
        )


# -- on_poison ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "holding", "hit_started", "expected"),
    [
        ("accepted", False, False, Action.MARK_REJECTED),
        ("sending", True, False, Action.MARK_FAILED),
        ("sending", True, True, Action.MARK_UNKNOWN),
        # Not this task's to end: another worker's claim, or a claim this task lost.
        ("sending", False, False, Action.END),
        ("sending", False, True, Action.END),
        ("accepted", True, False, Action.END),
        # Past sending: nothing left to send; a state nobody knows, or no state at all.
        ("sent", True, True, Action.END),
        ("unknown", True, True, Action.END),
        ("rejected", False, False, Action.END),
        ("bogus", False, False, Action.END),
        (None, False, False, Action.END),
    ],
)
def test_on_poison_row(
    state: str | None, holding: bool, hit_started: bool, expected: Action
) -> None:
    assert on_poison(state, holding=holding, hit_started=hit_started) is expected


def test_on_poison_ends_or_leaves_every_state_and_never_retries() -> None:
    for state, holding, hit in itertools.product(
        [*MessageState, "bogus", None], (False, True), (False, True)
    ):
        action = on_poison(state, holding=holding, hit_started=hit)
        assert action in (Action.MARK_REJECTED, Action.MARK_FAILED, Action.MARK_UNKNOWN, Action.END)
        if state == MessageState.SENDING and hit:  # it may have gone: never failed/rejected
            assert action in (Action.MARK_UNKNOWN, Action.END)


# -- ledger_out_of_reach -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "out_of_reach"),
    [
        (redis.ConnectionError("Connection refused"), True),
        (redis.TimeoutError("Timeout reading from socket"), True),
        (redis.BusyLoadingError("Redis is loading the dataset in memory"), True),
        # As redis-py's parser makes them: a class of its own, the code cut from the text.
        (redis.exceptions.ReadOnlyError("You can't write against a read only replica."), True),
        (redis.exceptions.OutOfMemoryError("command not allowed when used memory"), True),
        (redis.ResponseError("NOREPLICAS Not enough good replicas to write."), True),
        (redis.ResponseError("BUSY Redis is busy running a script."), True),
        (redis.ResponseError("MASTERDOWN Link with MASTER is down"), True),
        (redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind"), False),
        (redis.ResponseError("ERR Error running script: value is not an integer"), False),
        (redis.DataError("Invalid input of type: 'dict'"), False),
    ],
)
def test_ledger_out_of_reach_tells_not_now_from_not_this(
    exc: redis.RedisError, out_of_reach: bool
) -> None:
    assert ledger_out_of_reach(exc) is out_of_reach


def test_actions_are_strings_for_logs() -> None:
    assert f"{Action.PAUSE_AND_HOLD}" == "pause_and_hold"
    assert Failure.NONE == "none"
