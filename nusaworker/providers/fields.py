"""The fields of a provider's answer that the fleet keeps — ids, status words — and their shape.

An answer's ``ref_no`` becomes part of a Redis key (``ref:<ref_no>``) and of the record, and its
status word the record's ``provider_status``; both end up in logs and on the status page. A
provider (or whatever stands in for it) that answers a 10,000-character id, one of control
characters or of lone surrogates (which no encoder can write), would carry that into all of
them. So an answer whose id or status is not short, printable text does not validate: it is an
unreadable answer like any other (in doubt for a send, retried for a read), caught where it is
read, not three layers further where it breaks.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_WORD_LENGTH",
    "OptionalId",
    "OptionalWord",
    "ProviderId",
    "ProviderWord",
    "blank_to_none",
    "check_text",
]

# Every documented id is under 40 characters; 128 leaves room for any provider's.
MAX_ID_LENGTH = 128
# A status word ("D", "DELIVRD", "failed to send") or an error code.
MAX_WORD_LENGTH = 200


def check_text(value: str, *, limit: int) -> str:
    """``value`` stripped, if it is 1 to ``limit`` printable characters; else ValueError."""
    text = value.strip()
    if not text:
        raise ValueError("empty")
    if len(text) > limit:
        raise ValueError(f"longer than {limit} characters")
    if not text.isprintable():
        raise ValueError("holds characters that are not printable")
    return text


def _id(value: str) -> str:
    return check_text(value, limit=MAX_ID_LENGTH)


def _word(value: str) -> str:
    return check_text(value, limit=MAX_WORD_LENGTH)


def blank_to_none(value: Any) -> Any:
    """A blank text as ``None`` (for a ``BeforeValidator``)."""
    return None if isinstance(value, str) and not value.strip() else value


ProviderId = Annotated[str, AfterValidator(_id)]
ProviderWord = Annotated[str, AfterValidator(_word)]
# In an answer that is read, not acted on (a status): a blank one is no id, not an error.
OptionalId = Annotated[ProviderId | None, BeforeValidator(blank_to_none)]
OptionalWord = Annotated[ProviderWord | None, BeforeValidator(blank_to_none)]
