"""The message record: what the ledger knows about one message, and its Redis hash form.

A record is stored as one Redis hash (:meth:`nusaworker.keys.Keys.message`). Every field is a
string there: ``None`` is an absent field, booleans are ``"1"``/``"0"``, the payload is JSON in
one field. :func:`to_redis_hash` and :func:`from_redis_hash` are the only two places that know.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nusaworker.ledger.ids import new_message_id
from nusaworker.ledger.states import MessageState
from nusaworker.types import Priority

# The payload is what a worker sends, and it is readable by anyone who can read the record
# (``get_message``, the CLI, logs of failed tasks). Credentials are added by the provider client
# at send time and must never get here; refusing these names catches the obvious mistake.
_SECRET_FIELD_NAMES = frozenset({"apikey", "password", "secret", "authorization", "token"})

# Fields kept as JSON in their hash field.
_JSON_FIELDS = ("payload", "fallback")

# Long provider answers or tracebacks must not bloat the record.
MAX_ERROR_LENGTH = 1000


class MessageRecord(BaseModel):
    """One message (or one phone check) and everything known about its delivery.

    ``id`` is made at enqueue (:func:`new_message_id`). ``payload`` holds the provider request
    fields the worker needs to send — never credentials. Timestamps are epoch seconds.
    ``token``, ``hit_started``, ``hit_started_at``, ``claimed_at`` and ``holder`` (the worker
    whose heartbeat keeps the claim alive) are the claim bookkeeping of
    :class:`nusaworker.ledger.Ledger`; callers read them, only the ledger writes them.
    """

    # Records written by a newer version may carry fields this one does not know: keep reading.
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_message_id, min_length=1)
    # A row of the channel table (nusaworker.channels): the producer validated it; the ledger
    # only stores it, so that it knows nothing of providers.
    channel: str = Field(min_length=1)
    destination: str
    priority: Priority = "normal"
    state: MessageState = MessageState.ACCEPTED
    ref_no: str | None = None
    attempts: int = 0
    error: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    provider_status: str | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    sent_at: float | None = None
    final_at: float | None = None
    claimed_at: float | None = None
    token: str | None = Field(default=None, repr=False)
    hit_started: bool = False
    hit_started_at: float | None = None
    holder: str | None = None
    # The provider account (its name in the settings) whose hit sent the message: set at the
    # hit (``Ledger.begin_hit``); a message in doubt is only ever sent again by it.
    account: str | None = None
    # Set when the record was taken over in doubt: ``account``'s hit may have gone, so only it
    # may send the message again (also after a later refused hit).
    account_pinned: bool = False
    # The validity: a record not sent (hit started) by ``expires_at`` (its acceptance plus
    # ``validity_s``; the ledger sets it) ends ``expired`` instead of arriving late.
    validity_s: float | None = Field(default=None, gt=0)
    expires_at: float | None = None
    # A fallback asked for at enqueue (:mod:`nusaworker.tracking.fallback`):
    # ``{"after_s", "channel", "payload"}`` — if the message is not delivered ``after_s`` after
    # its acceptance, a message of ``channel`` with ``payload`` is sent; ``fallback_id`` is it.
    fallback: dict[str, Any] | None = None
    fallback_id: str | None = None
    # The campaign the message belongs to (:mod:`nusaworker.campaigns`), if any: its claim obeys
    # the campaign's pause and cancel, and every move is counted in the campaign's hash.
    campaign: str | None = None
    # A dead letter an operator sent again (``nusaworker dead-letters --requeue``): the id of
    # the new message (this one stays as it ended).
    requeued_as: str | None = None

    @field_validator("payload")
    @classmethod
    def _no_credentials(cls, payload: dict[str, Any]) -> dict[str, Any]:
        for name in payload:
            normalized = name.lower().replace("_", "").replace("-", "")
            if normalized in _SECRET_FIELD_NAMES:
                raise ValueError(f"payload field {name!r} looks like a credential; never store it")
        return payload


def describe_error(error: BaseException | str) -> str:
    """The ``error`` field for a record: ``"ClassName: message"``, capped in length."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 1] + "…"
    return text


def to_redis_hash(record: MessageRecord) -> dict[str, str]:
    """The record as hash fields; ``None`` fields are left out."""
    fields: dict[str, str] = {}
    for name, value in record:
        if value is None:
            continue
        if name in _JSON_FIELDS:
            fields[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(value, bool):
            fields[name] = "1" if value else "0"
        elif isinstance(value, float):
            fields[name] = repr(value)
        else:
            fields[name] = str(value)
    return fields


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def from_redis_hash(data: Mapping[Any, Any]) -> MessageRecord:
    """Rebuild a record from ``HGETALL`` output (``str`` or ``bytes``, either works).

    Raises :class:`ValueError` for a hash that is not a record (:func:`unreadable` says why).
    """
    try:
        fields: dict[str, Any] = {_text(k): _text(v) for k, v in data.items()}
    except UnicodeDecodeError:
        raise ValueError("a field is not UTF-8") from None
    for name in _JSON_FIELDS:
        if name in fields:
            try:
                fields[name] = json.loads(fields[name])
            except (ValueError, RecursionError):
                raise ValueError(f"{name}: not JSON") from None
    return MessageRecord.model_validate(fields)


def unreadable(exc: ValueError) -> str:
    """Why a hash is not a record, naming its fields — never their values (a payload is the
    user's data, and the reason ends up in logs and in the record's ``error``)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False, include_context=False)
        )
    return str(exc)
