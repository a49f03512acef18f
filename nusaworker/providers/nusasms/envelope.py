"""Read the JSON envelope ``{"error", "message", "data"}`` of a NusaSMS JSON API answer.

A 2xx answer of the JSON API can still hold a refusal (``"error": true``); what the HTTP status
alone says is the shared :func:`~nusaworker.providers.classify.error_for_response`'s job.

**No credit on the JSON API.** The documents do not say how a WhatsApp send is refused for want
of credit or for an expired balance. HTTP 402 is taken as that refusal (an assumption: the
shared status table maps it to :class:`InsufficientCredit`). Because the real provider may
answer otherwise, a refusal whose message says so — "insufficient balance", "credit expired",
"saldo habis" … (:func:`is_credit_refusal`) — is read as :class:`InsufficientCredit` too,
whatever its status (:func:`as_credit_error`). What the documents *do* give is the balance
answer: ``wa_balance`` and ``wa_expired_date`` (see ``Balance.standing``), and on SMS v3 the
codes ``-2`` NOT_ENOUGH_CREDITS and ``-7`` BALANCE_EXPIRED.
"""

from __future__ import annotations

import re
from typing import Any

from ..classify import Redact, load_json, lost_answer, shorten, summarize_body, unredacted
from ..errors import InsufficientCredit, PermanentError, ProviderError
from .models.common import ApiEnvelope

__all__ = [
    "as_credit_error",
    "is_credit_refusal",
    "items",
    "message_and_data",
    "read_envelope",
]

_WANT = (
    r"insufficient|not enough|no|zero|out of|run out|ran out|expired|exhausted"
    r"|habis|kurang|tidak cukup|kedaluwarsa|kadaluarsa|kadaluwarsa"
)
_MONEY = r"credits?|balance|saldo|kredit|quota|kuota"
# "<want> … <money>" or "<money> … <want>", a few words apart at most.
_CREDIT_REFUSAL = re.compile(
    rf"(?i)\b(?:{_WANT})\b[\w\s-]{{0,20}}?\b(?:{_MONEY})\b"
    rf"|\b(?:{_MONEY})\b[\w\s-]{{0,20}}?\b(?:{_WANT})\b"
)


def is_credit_refusal(text: str) -> bool:
    """Whether a refusal's message says the account lacks credit or its balance expired."""
    return bool(_CREDIT_REFUSAL.search(text))


def as_credit_error(error: ProviderError) -> ProviderError:
    """``error`` as :class:`InsufficientCredit` when it is a refusal that speaks of credit.

    Only :class:`PermanentError` is read this way: an auth failure, a rate limit or a lost
    answer stays what it is, whatever its text says.
    """
    if type(error) is PermanentError and is_credit_refusal(error.detail):
        credit = InsufficientCredit(
            error.detail, status_code=error.status_code, provider_code=error.provider_code
        )
        credit.__cause__ = error.__cause__
        credit.__suppress_context__ = True
        return credit
    return error


def read_envelope(
    status_code: int, body: bytes, *, is_send: bool, redact: Redact = unredacted
) -> ApiEnvelope:
    """Read the JSON envelope of a 2xx answer of the JSON API.

    ``"error": true`` in a 2xx is a refusal (:class:`PermanentError`, keeping ``error_code``).
    An empty, truncated, HTML or otherwise unreadable body is a lost answer: ambiguous on a
    send (the provider may have accepted it), transient on a read.
    """
    try:
        data = load_json(body)
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
        refusal = PermanentError(
            f"HTTP {status_code} with error=true: {message}",
            status_code=status_code,
            provider_code=envelope.error_code,
        )
        raise as_credit_error(refusal)
    return envelope


def message_and_data(envelope: ApiEnvelope) -> Any:
    """The envelope's ``message`` and ``data`` (for answers whose message is the news)."""
    return {"message": envelope.message, "data": envelope.data}


def items(envelope: ApiEnvelope) -> Any:
    """The envelope's ``data`` list (``[]`` when it is null)."""
    return [] if envelope.data is None else envelope.data
