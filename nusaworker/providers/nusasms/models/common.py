"""Pieces every NusaSMS model shares: base configurations, number checks, the JSON envelope.

Request models refuse unknown fields (a typo must not silently drop a parameter) and are what
the producer API validates with before anything is enqueued. Response models accept unknown
fields, because the provider adds fields over time and a new field must not break a send.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

__all__ = [
    "ApiEnvelope",
    "LenientDate",
    "LenientDatetime",
    "RequestModel",
    "ResponseModel",
    "Standing",
    "check_http_url",
    "normalize_phone",
    "provider_today",
    "standing",
]

_DIGITS = re.compile(r"[0-9]+")


class RequestModel(BaseModel):
    """Base of every request model: strict about field names, validated before any hit."""

    model_config = ConfigDict(extra="forbid")

    def to_json_body(self) -> dict[str, Any]:
        """The JSON body as the provider expects it (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_multipart(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Form fields for ``requests``' ``files=``: ``(None, value)`` makes plain form parts."""
        return [(name, (None, str(value))) for name, value in self.to_json_body().items()]


class ResponseModel(BaseModel):
    """Base of every response model: keeps fields the documents do not (yet) describe."""

    # Numbers where text is documented (a numeric ``destination``) are accepted as text.
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


def normalize_phone(value: str, *, min_digits: int = 8, max_digits: int = 15) -> str:
    """Return ``value`` as digits only, or raise :class:`ValueError` saying why not.

    One leading ``+`` is dropped (``+62812…`` and ``62812…`` are the same number); anything
    else that is not a digit is refused rather than guessed at.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string of digits")
    number = value.strip()
    if number.startswith("+"):
        number = number[1:]
    if not _DIGITS.fullmatch(number):
        raise ValueError("must contain digits only (an optional leading '+' is allowed)")
    if not min_digits <= len(number) <= max_digits:
        raise ValueError(f"must have {min_digits} to {max_digits} digits, got {len(number)}")
    return number


def check_http_url(value: str) -> str:
    """Return ``value`` if it is an absolute http(s) URL, else raise :class:`ValueError`."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http:// or https:// URL")
    return value.strip()


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


# Dates in answers: parsed when they parse, kept as the provider's text when they do not (a read
# must not fail, and be retried, because of a date format), absent when blank.
LenientDatetime = Annotated[
    datetime | str | None, Field(union_mode="left_to_right"), BeforeValidator(_blank_to_none)
]
LenientDate = Annotated[
    date | str | None, Field(union_mode="left_to_right"), BeforeValidator(_blank_to_none)
]


class ApiEnvelope(ResponseModel):
    """The wrapper of every JSON API v1.0 answer: ``{"error", "error_code", "message", "data"}``.

    ``error_code`` only exists in the older edition; both are accepted.
    """

    error: bool = False
    error_code: int | None = None
    message: str | None = None
    data: Any = None

    @field_validator("error", mode="before")
    @classmethod
    def _lenient_bool(cls, value: Any) -> Any:
        # Some gateways send "false"/"0"; anything else unreadable fails validation.
        if isinstance(value, str) and value.strip().lower() in ("false", "0", ""):
            return False
        if isinstance(value, str) and value.strip().lower() in ("true", "1"):
            return True
        return value

    @field_validator("error_code", mode="before")
    @classmethod
    def _lenient_code(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                return None
        return value


# The provider's calendar: Western Indonesia Time, UTC+7 all year (no daylight saving).
WIB = timezone(timedelta(hours=7), "WIB")
Standing = Literal["ok", "empty", "expired", "unknown"]


def provider_today(now: datetime | None = None) -> date:
    """Today's date in Jakarta (the day an expiry date of the provider refers to)."""
    return (now or datetime.now(UTC)).astimezone(WIB).date()


def standing(balance: Any, expiry: Any, *, today: date | None = None) -> Standing:
    """A wallet's standing from its balance and expiry date (see ``Balance.standing``).

    The balance expires at the end of its expiry date (a date of today is still good).
    """
    day = today or provider_today()
    when = expiry.date() if isinstance(expiry, datetime) else expiry
    if isinstance(when, date) and when < day:
        return "expired"
    if balance is None:
        return "unknown"
    return "ok" if float(balance) > 0 else "empty"
