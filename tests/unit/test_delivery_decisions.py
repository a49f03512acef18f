"""Every row of delivery's decision table (nusaworker.delivery.decide): pure, no Redis."""

from __future__ import annotations

import itertools

import pytest
from pydantic import BaseModel, ValidationError

from nusaworker.delivery import Action, Failure
from nusaworker.delivery.decide import after_send, classify, on_arrival, on_claim, on_hold
from nusaworker.errors import ConfigurationError, GateUnavailable, NusaWorkerError
from nusaworker.ledger import ClaimOutcome, Fenced, IllegalTransition, RecordNotFound
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
        (_validation_error(), Failure.INVALID_PAYLOAD),
    ],
)
def test_classify_maps_each_error_class(
    exc: NusaWorkerError | ValidationError, expected: Failure
) -> None:
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
    ],
)
def test_after_send_row(failure: Failure, guarded: bool, expected: Action) -> None:
    assert after_send(failure, guarded=guarded) is expected


def test_after_send_rows_cover_every_failure() -> None:
    for failure, guarded in itertools.product(Failure, (False, True)):
        assert isinstance(after_send(failure, guarded=guarded), Action)


def test_after_send_an_ambiguous_hit_is_never_retried() -> None:
    for guarded in (False, True):
        assert after_send(Failure.AMBIGUOUS, guarded=guarded) not in (
            Action.RETRY_OR_END,
            Action.PAUSE_AND_HOLD,
        )


def test_actions_are_strings_for_logs() -> None:
    assert f"{Action.PAUSE_AND_HOLD}" == "pause_and_hold"
    assert Failure.NONE == "none"
