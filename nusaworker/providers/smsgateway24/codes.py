"""SmsGateway24 status codes, and what an answer with ``"error": 1`` stands for.

Seed 004 names two message status codes by example — ``2`` (``"sending"``) and ``7``
(``"delivered"``) — and no error codes at all: every answer carries ``"error": 0|1`` and a
``message`` that is empty when all is well. So this module is the one place where

* a status code (and, for a code the document does not name, its title) becomes one of the
  fleet's final states ``sent`` / ``delivered`` / ``read`` / ``failed``, or ``None`` while the
  message is still on its way; an unknown code is never an error, it is kept as it came;
* a refusal (``"error": 1``) becomes one class of the shared taxonomy
  (:mod:`nusaworker.providers.errors`), and a refused token is told apart from other refusals,
  so that the client fetches a new token once instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import AuthError, InsufficientCredit, PermanentError, ProviderError

__all__ = [
    "DELIVERED",
    "SENDING",
    "STATUS_CODES",
    "FinalState",
    "StatusCode",
    "final_state",
    "is_token_refusal",
    "refusal_error",
]

FinalState = Literal["sent", "delivered", "read", "failed"]

SENDING = 2
DELIVERED = 7


@dataclass(frozen=True)
class StatusCode:
    """One message status code the document names."""

    code: int
    name: str
    final: FinalState | None  # None: the message is still on its way


STATUS_CODES: dict[int, StatusCode] = {
    SENDING: StatusCode(SENDING, "sending", None),
    DELIVERED: StatusCode(DELIVERED, "delivered", "delivered"),
}

# For codes the document does not name, the provider's own title is all there is to go on.
# Failure words are looked at first: "undelivered" must not read as "delivered".
_FAILED = re.compile(r"fail|error|reject|undeliver|not deliver|cancel|expire|invalid", re.I)
_READ = re.compile(r"\bread\b", re.I)
_DELIVERED = re.compile(r"deliver", re.I)
_SENT = re.compile(r"\bsent\b", re.I)


def final_state(code: int | None, title: str | None = None) -> FinalState | None:
    """The final state a status stands for, or ``None`` while the message is still on its way.

    A documented code decides by itself. Any other code is judged by its title (failure words
    first, then ``read``, ``deliver``, ``sent``); a code with no telling title is not final, so
    the message stays polled and the code is kept verbatim by the caller.
    """
    known = STATUS_CODES.get(code) if code is not None else None
    if known is not None:
        return known.final
    text = (title or "").strip()
    if not text:
        return None
    if _FAILED.search(text):
        return "failed"
    if _READ.search(text):
        return "read"
    if _DELIVERED.search(text):
        return "delivered"
    if _SENT.search(text):
        return "sent"
    return None


# The document gives no wording for a refused token; whatever the provider says about it names
# the token (a missing, wrong or expired one alike).
_TOKEN = re.compile(r"\btoken\b", re.I)
# A phone gateway is paid per device subscription: a refusal that speaks of money is a credit
# problem (pause and alert), not a bad message.
_CREDIT = re.compile(r"subscri|balance|payment|paid|tariff|credit", re.I)


def is_token_refusal(message: str | None) -> bool:
    """True when an ``"error": 1`` answer says the token was refused (missing/wrong/expired)."""
    return bool(message and _TOKEN.search(message))


def refusal_error(
    message: str | None, *, endpoint: str, login: bool = False, status_code: int | None = 200
) -> ProviderError:
    """The error an ``"error": 1`` answer stands for (the caller redacts ``message`` first).

    On the login endpoint (``login``) any refusal is an :class:`AuthError` (wrong e-mail or
    password); a refused token that could not be renewed is one too. A refusal about a
    subscription or balance is :class:`InsufficientCredit`. Anything else — a missing field,
    an unknown device, a wrong SIM slot — is :class:`PermanentError`: the same request would be
    refused again.
    """
    text = (message or "").strip() or "no message"
    detail = f"SmsGateway24 refused the request ({endpoint}): {text}"
    if login or is_token_refusal(text):
        return AuthError(detail, status_code=status_code, provider_code=1)
    if _CREDIT.search(text):
        return InsufficientCredit(detail, status_code=status_code, provider_code=1)
    return PermanentError(detail, status_code=status_code, provider_code=1)
