"""WAChat's answers and the error class each one ends in.

WAChat has no error codes of its own: an answer is judged by its HTTP status ("HTTP Response
Code, either 200, 201, 202 or 204 and error=false on the json response is success request")
and, inside a 2xx, by ``"error": true``. This is the table of what the document (and its
samples) show, with the class of :mod:`nusaworker.providers.errors` each one maps to; the
shared :func:`~nusaworker.providers.errors.class_for_status` does the mapping at run time and a
unit test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)

__all__ = ["ANSWERS", "Answer"]


@dataclass(frozen=True)
class Answer:
    """One HTTP status WAChat may answer, what it means, and the class it raises."""

    status: int
    meaning: str
    on_send: type[ProviderError] | None  # None: success
    on_read: type[ProviderError] | None
    source: str  # where it comes from: the document, its samples, or an assumption


ANSWERS: tuple[Answer, ...] = (
    Answer(200, "success (reads)", None, None, "document"),
    Answer(201, "success (sends)", None, None, "document"),
    Answer(202, "success", None, None, "document"),
    Answer(204, "success", None, None, "document"),
    Answer(400, "invalid request", PermanentError, PermanentError, "Ruby samples"),
    Answer(401, "API key missing or refused", AuthError, AuthError, "assumption"),
    Answer(
        402,
        "the gateway (sender) reached its limit: counter >= limit",
        InsufficientCredit,
        InsufficientCredit,
        "assumption",
    ),
    Answer(403, "API key refused or revoked", AuthError, AuthError, "Ruby samples"),
    Answer(404, "no such message ref_no or sender", PermanentError, PermanentError, "assumption"),
    Answer(405, "method not allowed", PermanentError, PermanentError, "assumption"),
    Answer(422, "HTTPValidationError: a body field", PermanentError, PermanentError, "document"),
    Answer(429, "too many hits for the account", RateLimited, RateLimited, "assumption"),
    Answer(500, "server error", TransientError, TransientError, "assumption"),
    Answer(502, "bad gateway", TransientError, TransientError, "assumption"),
    Answer(503, "service unavailable", TransientError, TransientError, "assumption"),
    Answer(
        504,
        "gateway timeout: the send may have been accepted",
        AmbiguousOutcome,
        TransientError,
        "assumption",
    ),
)
