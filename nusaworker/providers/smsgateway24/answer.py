"""Read one SmsGateway24 answer: parse its frame, tell a refused token from other refusals.

The provider answers HTTP 200 with ``{"error": 0|1, "message": …, …}``; what the HTTP status
alone says is the shared :func:`~nusaworker.providers.classify.error_for_response`'s job.
"""

from __future__ import annotations

from typing import Any

from ..classify import Redact, load_json, lost_answer, shorten, summarize_body, unredacted
from .codes import is_token_refusal, refusal_error
from .models.answers import Answer

__all__ = ["TokenRefused", "read_answer"]


class TokenRefused:
    """The answer said the token is missing, wrong or expired (a value, not an error: the
    client reacts by fetching a new token once)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return "TokenRefused()"


def read_answer(
    status_code: int,
    body: bytes,
    *,
    endpoint: str,
    is_send: bool,
    login: bool = False,
    redact: Redact = unredacted,
) -> dict[str, Any] | TokenRefused:
    """The JSON object of a 2xx answer, or :class:`TokenRefused`; raises for anything else.

    ``"error": 1`` raises the class :func:`~.codes.refusal_error` picks — except a refused
    token outside the login call, which comes back as a :class:`TokenRefused` value. An empty,
    truncated, HTML or otherwise unreadable body is a lost answer: ambiguous on a send (the
    provider may have accepted it), transient on a read.
    """
    try:
        data = load_json(body)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        frame = Answer.model_validate(data)
    except ValueError:
        summary = summarize_body(body, redact)
        raise lost_answer(
            f"HTTP {status_code} answer unreadable ({summary})",
            is_send=is_send,
            status_code=status_code,
        ) from None
    if frame.error:
        message = shorten(redact(frame.message or ""))
        if not login and is_token_refusal(message):
            return TokenRefused(message)
        raise refusal_error(message, endpoint=endpoint, login=login, status_code=status_code)
    return data
