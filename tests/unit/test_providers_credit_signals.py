"""No credit on the JSON API: 402 (assumed), refusals that say so, and the documented balance."""

from __future__ import annotations

import datetime as dt

import pytest

from nusaworker.providers import (
    AuthError,
    Balance,
    InsufficientCredit,
    PermanentError,
    RateLimited,
)
from nusaworker.providers.classify import error_for_response
from nusaworker.providers.nusasms.envelope import as_credit_error, is_credit_refusal, read_envelope
from nusaworker.providers.nusasms.models.common import provider_today


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Insufficient WA balance", True),
        ("WA balance expired", True),
        ("Not enough credits on a specific account", True),
        ("Your credit has expired", True),
        ("Saldo habis", True),
        ("saldo WA tidak cukup", True),
        ("Kredit anda kadaluarsa", True),
        ("No credit left", True),
        ("Invalid API key", False),
        ("value is not a valid uuid4", False),
        ("media too large: max 512 KB for png", False),
        ("Message not found", False),
    ],
)
def test_is_credit_refusal_reads_the_wording(text: str, expected: bool) -> None:
    assert is_credit_refusal(text) is expected


def test_402_is_insufficient_credit_as_assumed() -> None:
    error = error_for_response(402, {}, b'{"error": true, "message": "x"}', is_send=True)
    assert isinstance(error, InsufficientCredit)


@pytest.mark.parametrize("status", [400, 403, 422])
def test_as_credit_error_turns_a_credit_refusal_into_insufficient_credit(status: int) -> None:
    body = b'{"error": true, "message": "Insufficient balance"}'
    error = error_for_response(status, {}, body, is_send=True)
    assert error is not None
    turned = as_credit_error(error)
    if status == 403:  # an auth failure stays one, whatever its text
        assert isinstance(turned, AuthError)
    else:
        assert isinstance(turned, InsufficientCredit) and turned.status_code == status


def test_as_credit_error_leaves_other_errors_alone() -> None:
    plain = PermanentError("HTTP 422 invalid parameter: body.destination: bad")
    assert as_credit_error(plain) is plain
    limited = RateLimited("no credit for you")  # not a refusal: stays retryable
    assert as_credit_error(limited) is limited


def test_read_envelope_error_true_speaking_of_credit_is_insufficient_credit() -> None:
    with pytest.raises(InsufficientCredit):
        read_envelope(200, b'{"error": true, "message": "Saldo WA habis"}', is_send=True)
    with pytest.raises(PermanentError) as other:
        read_envelope(200, b'{"error": true, "message": "Destination invalid"}', is_send=True)
    assert type(other.value) is PermanentError


@pytest.mark.parametrize(
    ("data", "wallet", "expected"),
    [
        ({"wa_balance": 10, "wa_expired_date": "2026-06-01"}, "wa", "ok"),  # the day itself
        ({"wa_balance": 0, "wa_expired_date": "2027-01-01"}, "wa", "empty"),
        ({"wa_balance": -1}, "wa", "empty"),
        ({"wa_balance": 10, "wa_expired_date": "2026-05-31"}, "wa", "expired"),
        ({"sms_balance": 3, "sms_expired_date": "2020-01-01"}, "sms", "expired"),
        ({"sms_balance": 3}, "wa", "unknown"),
        ({"wa_balance": 10, "wa_expired_date": "not a date"}, "wa", "ok"),
    ],
)
def test_balance_standing_reads_the_documented_fields(
    data: dict[str, object], wallet: str, expected: str
) -> None:
    balance = Balance.model_validate({"idClient": 1, **data})
    assert balance.standing(wallet, today=dt.date(2026, 6, 1)) == expected


def test_provider_today_is_jakarta_time() -> None:
    late = dt.datetime(2026, 5, 31, 18, 30, tzinfo=dt.UTC)  # 01:30 on June 1st in WIB
    assert provider_today(late) == dt.date(2026, 6, 1)
