"""The NusaSMS SMS v3 status codes: every documented code, its name, its meaning, its error class.

The SMS API answers HTTP 200 and reports failure as a negative ``status`` inside the body. This
module is the one table from that code to the shared error taxonomy
(:mod:`nusaworker.providers.errors`). Names and descriptions are the newer edition's (seed 001);
where the older edition (seed 000) named a code differently, ``older_name`` keeps that name so
logs from either era can be matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import (
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    TransientError,
)

__all__ = ["SMS_CODES", "SmsCode", "sms_error"]


@dataclass(frozen=True)
class SmsCode:
    """One documented SMS status code."""

    code: int
    name: str
    description: str
    error: type[ProviderError] | None
    older_name: str | None = None

    def message(self) -> str:
        """The text errors carry, e.g. ``SMS status -13 INVALID_DESTINATION_ADDRESS: …``."""
        return f"SMS status {self.code} {self.name}: {self.description}"


def _table(*codes: SmsCode) -> dict[int, SmsCode]:
    return {c.code: c for c in codes}


_P = PermanentError
_T = TransientError
_C = InsufficientCredit

SMS_CODES: dict[int, SmsCode] = _table(
    SmsCode(0, "ALL_RECIPIENTS_PROCESSED", "Request was successful (all recipients)", None),
    # Errors the provider itself calls general/processing failures: a later try may succeed.
    SmsCode(-1, "SEND_ERROR", "Error in processing the request", _T),
    SmsCode(-23, "ERROR_PROCESSING", "General error, reasons may vary", _T),
    SmsCode(-26, "COMMUNICATION_ERROR", "General API error, reasons may vary", _T),
    SmsCode(-99, "GENERAL_ERROR", "Error in processing request, reasons may vary", _T),
    # Money: pause the channel and alert rather than burn the queue.
    SmsCode(-2, "NOT_ENOUGH_CREDITS", "Not enough credits on a specific account", _C),
    SmsCode(-7, "BALANCE_EXPIRED", "Balance has expired", _C),
    # Credentials and the IP whitelist.
    SmsCode(
        -5,
        "AUTHENTICATION_FAILED",
        "Username or password is invalid",
        AuthError,
        older_name="INVALID_USER_OR_PASS",
    ),
    SmsCode(-40, "IP_ADDRESS_FORBIDDEN", "Client IP Address Not In White List", AuthError),
    # The request itself is refused; the same request will be refused again.
    SmsCode(-3, "NETWORK_NOTCOVERED", "Targeted network is not covered on specific account", _P),
    SmsCode(-6, "MISSING_DESTINATION_ADDRESS", "Destination address is missing in the request", _P),
    SmsCode(-9, "NO_ROUTE", "Routing not found for specific operator", _P),
    SmsCode(-10, "REJECTED", "OTP messages that do not use an OTP route will be REJECTED", _P),
    SmsCode(
        -11,
        "UNKNOWN_DESTINATION_ADDRESS",
        "Number is not recognized by NusaSMS platform",
        _P,
        older_name="INVALID_DESTINATION_ADDRESS",
    ),
    SmsCode(-12, "MISSING_MESSAGE", "Message is missing in the request", _P),
    SmsCode(-13, "INVALID_DESTINATION_ADDRESS", "Invalid Destination Address", _P),
    SmsCode(-14, "SMS_TEXT_TOO_LONG", "SMS text to long", _P),
    SmsCode(-22, "SYNTAX_ERROR", "Incorrect XML format, caused by syntax error", _P),
    SmsCode(-24, "INVALID_API_COMMAND", "Invalid API Command", _P),
    SmsCode(-27, "INVALID_SENDDATETIME", "Invalid scheduling parametar", _P),
    SmsCode(-28, "INVALID_DELIVERY_REPORT_PUSH_URL", "Invalid PushURL in the request", _P),
    SmsCode(-30, "INVALID_CLIENT_APPID", "Invalid APPID in the request", _P),
    SmsCode(-31, "RECORD_NOT_FOUND", "Record not found", _P),
    SmsCode(-32, "MISSING_MESSAGE_ID", "Message ID is missing in request", _P),
    SmsCode(-33, "DUPLICATE_MESSAGEID", "Duplicated MessageID in the request", _P),
    SmsCode(-34, "SENDER_NOT_ALLOWED", "Sender name is not allowed", _P),
    SmsCode(-35, "SENDER_NOT_REGISTERED", "Sender not registered", _P),
    SmsCode(-36, "SENDER_NOT_SET", "Sender not set for user/account", _P),
    # The documents give -55 no name, only "group is not available or has no contact list".
    SmsCode(
        -55,
        "GROUP_NOT_AVAILABLE",
        "Group is not available or the group has no contact list",
        _P,
    ),
    # The newer edition wins where the two differ: it gives -77 the text of -78 (probably a copy
    # slip; the older edition said "More than 10 same message send to the same recipeints in
    # 1 day"). The class is the same either way.
    SmsCode(
        -77,
        "SPAM_PATTERN",
        "Sending messages to the same number has reached the limit in 24 hours",
        _P,
    ),
    SmsCode(
        -78,
        "LIMIT REACHED FOR DESTINATION NUMBER",
        "Sending messages to the same number has reached the limit in 24 hours",
        _P,
    ),
    SmsCode(-88, "REJECTED ROUTE", "Operator Rejected The Request", _P),
)


def sms_error(code: int, *, status_code: int | None = 200) -> ProviderError | None:
    """The error an SMS ``status`` code stands for, or ``None`` when it means success.

    A negative code the documents do not list becomes a :class:`PermanentError` that keeps the
    code, so nothing is retried on a guess. A positive unknown code is treated the same way.
    """
    known = SMS_CODES.get(code)
    if known is None:
        return PermanentError(
            f"SMS status {code} UNKNOWN: undocumented status code",
            status_code=status_code,
            provider_code=code,
        )
    if known.error is None:
        return None
    return known.error(known.message(), status_code=status_code, provider_code=code)
