"""Every documented SMS v3 status code maps to exactly one class, with its name in the message."""

from __future__ import annotations

import pytest

from nusaworker.providers.errors import (
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    TransientError,
)
from nusaworker.providers.nusasms.codes import SMS_CODES, sms_error

EXPECTED: dict[int, tuple[str, type[ProviderError] | None]] = {
    0: ("ALL_RECIPIENTS_PROCESSED", None),
    -1: ("SEND_ERROR", TransientError),
    -2: ("NOT_ENOUGH_CREDITS", InsufficientCredit),
    -3: ("NETWORK_NOTCOVERED", PermanentError),
    -5: ("AUTHENTICATION_FAILED", AuthError),
    -6: ("MISSING_DESTINATION_ADDRESS", PermanentError),
    -7: ("BALANCE_EXPIRED", InsufficientCredit),
    -9: ("NO_ROUTE", PermanentError),
    -10: ("REJECTED", PermanentError),
    -11: ("UNKNOWN_DESTINATION_ADDRESS", PermanentError),
    -12: ("MISSING_MESSAGE", PermanentError),
    -13: ("INVALID_DESTINATION_ADDRESS", PermanentError),
    -14: ("SMS_TEXT_TOO_LONG", PermanentError),
    -22: ("SYNTAX_ERROR", PermanentError),
    -23: ("ERROR_PROCESSING", TransientError),
    -24: ("INVALID_API_COMMAND", PermanentError),
    -26: ("COMMUNICATION_ERROR", TransientError),
    -27: ("INVALID_SENDDATETIME", PermanentError),
    -28: ("INVALID_DELIVERY_REPORT_PUSH_URL", PermanentError),
    -30: ("INVALID_CLIENT_APPID", PermanentError),
    -31: ("RECORD_NOT_FOUND", PermanentError),
    -32: ("MISSING_MESSAGE_ID", PermanentError),
    -33: ("DUPLICATE_MESSAGEID", PermanentError),
    -34: ("SENDER_NOT_ALLOWED", PermanentError),
    -35: ("SENDER_NOT_REGISTERED", PermanentError),
    -36: ("SENDER_NOT_SET", PermanentError),
    -40: ("IP_ADDRESS_FORBIDDEN", AuthError),
    -55: ("GROUP_NOT_AVAILABLE", PermanentError),
    -77: ("SPAM_PATTERN", PermanentError),
    -78: ("LIMIT REACHED FOR DESTINATION NUMBER", PermanentError),
    -88: ("REJECTED ROUTE", PermanentError),
    -99: ("GENERAL_ERROR", TransientError),
}


def test_sms_codes_table_is_exactly_the_documented_codes() -> None:
    assert set(SMS_CODES) == set(EXPECTED)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_sms_error_maps_every_documented_code(
    code: int, expected: tuple[str, type[ProviderError] | None]
) -> None:
    name, cls = expected
    entry = SMS_CODES[code]
    assert entry.name == name and entry.description
    error = sms_error(code)
    if cls is None:
        assert error is None
        return
    assert type(error) is cls
    assert error is not None
    assert error.provider_code == code and error.status_code == 200
    assert str(error) == f"SMS status {code} {name}: {entry.description}"


def test_sms_error_message_names_the_code_as_the_sms_document_does() -> None:
    assert str(sms_error(-13)) == (
        "SMS status -13 INVALID_DESTINATION_ADDRESS: Invalid Destination Address"
    )


def test_sms_codes_keep_older_names() -> None:
    assert SMS_CODES[-5].older_name == "INVALID_USER_OR_PASS"
    assert SMS_CODES[-11].older_name == "INVALID_DESTINATION_ADDRESS"


@pytest.mark.parametrize("code", [-4, -8, -100, -56, 3])
def test_sms_error_unknown_code_is_permanent_and_keeps_code(code: int) -> None:
    error = sms_error(code)
    assert type(error) is PermanentError
    assert error is not None and error.provider_code == code
    assert str(code) in str(error)


def test_sms_codes_take_the_newer_editions_text() -> None:
    # Seed 001 is newer: where it differs from seed 000 its words are the ones kept.
    assert SMS_CODES[-77].description == (
        "Sending messages to the same number has reached the limit in 24 hours"
    )
    assert SMS_CODES[-13].description == "Invalid Destination Address"
    assert (SMS_CODES[-5].name, SMS_CODES[-5].older_name) == (
        "AUTHENTICATION_FAILED",
        "INVALID_USER_OR_PASS",
    )
