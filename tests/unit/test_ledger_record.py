"""The message record model, its Redis hash form, the claim answer and the ledger errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nusaworker.errors import NusaWorkerError
from nusaworker.ledger import (
    Claim,
    ClaimOutcome,
    Fenced,
    IllegalTransition,
    LedgerError,
    MessageRecord,
    MessageState,
    RecordNotFound,
    describe_error,
)
from nusaworker.ledger.record import MAX_ERROR_LENGTH, from_redis_hash, to_redis_hash


def _record(**fields: object) -> MessageRecord:
    base: dict[str, object] = {"channel": "sms", "destination": "628123456789"}
    base.update(fields)
    return MessageRecord.model_validate(base)


def test_message_record_defaults() -> None:
    record = _record()
    assert record.state is MessageState.ACCEPTED
    assert record.priority == "normal"
    assert record.attempts == 0
    assert len(record.id) == 26
    assert record.ref_no is None
    assert record.hit_started is False


def test_message_record_rejects_an_empty_channel_and_unknown_priority() -> None:
    # Which channels exist is the channel table's business (the producer checks it); the
    # ledger only refuses a record without one.
    with pytest.raises(ValidationError):
        _record(channel="")
    with pytest.raises(ValidationError):
        _record(priority="urgent")


@pytest.mark.parametrize("name", ["APIKey", "api_key", "password", "Authorization", "Token"])
def test_message_record_refuses_credentials_in_payload(name: str) -> None:
    with pytest.raises(ValidationError, match="credential"):
        _record(payload={name: "s3cret", "text": "hi"})


def test_message_record_repr_hides_the_claim_token() -> None:
    record = _record(token="feedface" * 4)
    assert "feedface" not in repr(record)


def test_to_redis_hash_leaves_none_out_and_encodes_types() -> None:
    record = _record(
        payload={"SMSText": "Kode 123", "otp": "Y", "nested": {"a": [1, 2]}},
        hit_started=True,
        attempts=2,
        created_at=1700000000.25,
    )
    fields = to_redis_hash(record)
    assert all(isinstance(v, str) for v in fields.values())
    assert "ref_no" not in fields
    assert "final_at" not in fields
    assert fields["hit_started"] == "1"
    assert fields["attempts"] == "2"
    assert fields["state"] == "accepted"
    assert fields["created_at"] == "1700000000.25"
    assert fields["payload"] == '{"SMSText":"Kode 123","otp":"Y","nested":{"a":[1,2]}}'


@pytest.mark.parametrize("as_bytes", [False, True])
def test_from_redis_hash_round_trips(as_bytes: bool) -> None:
    record = _record(
        state=MessageState.SENT,
        ref_no="175041319203754627",
        provider_status="D",
        error="TransientError: 503",
        sent_at=1700000001.5,
        payload={"SMSText": "Halo ✓"},
        idempotency_key="order-42",
    )
    fields = to_redis_hash(record)
    data = {k.encode(): v.encode() for k, v in fields.items()} if as_bytes else fields
    assert from_redis_hash(data) == record


def test_from_redis_hash_ignores_fields_it_does_not_know() -> None:
    fields = to_redis_hash(_record()) | {"added_by_a_newer_version": "x"}
    assert from_redis_hash(fields).destination == "628123456789"


def test_describe_error_names_the_class_and_caps_the_length() -> None:
    assert describe_error(ValueError("bad number")) == "ValueError: bad number"
    assert describe_error("PermanentError: SMS status -13") == "PermanentError: SMS status -13"
    long = describe_error(RuntimeError("x" * 5000))
    assert len(long) == MAX_ERROR_LENGTH
    assert long.startswith("RuntimeError: xxx")


def test_claim_may_send_only_with_a_token() -> None:
    held = Claim(ClaimOutcome.CLAIMED, MessageState.SENDING, 1, token="c0ffee" * 5)
    doubt = Claim(ClaimOutcome.IN_DOUBT, MessageState.SENDING, 1)
    assert held.may_send
    assert not doubt.may_send
    assert "c0ffee" not in repr(held)


@pytest.mark.parametrize("cls", [LedgerError, RecordNotFound, IllegalTransition, Fenced])
def test_ledger_errors_sit_under_the_root_and_are_not_retryable(cls: type[LedgerError]) -> None:
    assert issubclass(cls, LedgerError)
    assert issubclass(cls, NusaWorkerError)
    assert cls.retryable is False
    assert cls.__doc__ is not None and cls.__doc__.startswith("Raised when")


def test_ledger_errors_carry_their_context() -> None:
    assert RecordNotFound("abc").message_id == "abc"
    err = IllegalTransition("abc", "read", "sent")
    assert (err.current, err.wanted) == ("read", "sent")
    assert "read → sent" in str(err)
    assert Fenced("abc", "mark_sent").operation == "mark_sent"
