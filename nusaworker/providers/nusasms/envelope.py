"""Read the JSON envelope ``{"error", "message", "data"}`` of a NusaSMS JSON API answer.

A 2xx answer of the JSON API can still hold a refusal (``"error": true``); what the HTTP status
alone says is the shared :func:`~nusaworker.providers.classify.error_for_response`'s job.
"""

from __future__ import annotations

import json
from typing import Any

from ..classify import Redact, lost_answer, shorten, summarize_body, unredacted
from ..errors import PermanentError
from .models.common import ApiEnvelope

__all__ = ["items", "message_and_data", "read_envelope"]


def read_envelope(
    status_code: int, body: bytes, *, is_send: bool, redact: Redact = unredacted
) -> ApiEnvelope:
    """Read the JSON envelope of a 2xx answer of the JSON API.

    ``"error": true`` in a 2xx is a refusal (:class:`PermanentError`, keeping ``error_code``).
    An empty, truncated, HTML or otherwise unreadable body is a lost answer: ambiguous on a
    send (the provider may have accepted it), transient on a read.
    """
    try:
        data = json.loads(body.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        envelope = ApiEnvelope.model_validate(data)
    except ValueError:
        summary = summarize_body(body, redact)
        raise lost_answer(
            f"HTTP {status_code} answer unreadable ({summary})",
            is_send=is_send,
            status_code=status_code,
        ) from None
    if envelope.error:
        message = shorten(redact(envelope.message or "no message"))
        raise PermanentError(
            f"HTTP {status_code} with error=true: {message}",
            status_code=status_code,
            provider_code=envelope.error_code,
        )
    return envelope


def message_and_data(envelope: ApiEnvelope) -> Any:
    """The envelope's ``message`` and ``data`` (for answers whose message is the news)."""
    return {"message": envelope.message, "data": envelope.data}


def items(envelope: ApiEnvelope) -> Any:
    """The envelope's ``data`` list (``[]`` when it is null)."""
    return [] if envelope.data is None else envelope.data
