"""One provider call per channel: how a stored record becomes a client call.

The record's ``payload`` holds the provider fields as the producer validated them
(:func:`payload_of`); a sender unpacks them into the client method of its channel and answers
the provider's ``ref_no`` (``None`` where there is none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nusaworker.ledger import MessageRecord
from nusaworker.providers import NusaSMSClient

__all__ = ["SENDERS", "Sender", "payload_of"]

Sender = Callable[[NusaSMSClient, MessageRecord], "str | None"]


def _send_wa(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = dict(rec.payload)
    return client.send_whatsapp(
        fields.pop("destination"), fields.pop("message"), priority=rec.priority, **fields
    ).ref_no


def _send_wa_media(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = dict(rec.payload)
    return client.send_whatsapp_media(
        fields.pop("destination"), priority=rec.priority, **fields
    ).ref_no


def _send_wa_official(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    return client.send_wa_official_broadcast(priority=rec.priority, **rec.payload).ref_no


def _send_wa_official_reply(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    return client.send_wa_official_reply(priority=rec.priority, **rec.payload).ref_no


def _send_sms(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = dict(rec.payload)
    return client.send_sms(
        fields.pop("destination"), fields.pop("text"), priority=rec.priority, **fields
    ).ref_no


def _check_numbers(client: NusaSMSClient, rec: MessageRecord) -> str | None:
    fields = rec.payload
    client.check_whatsapp_numbers(
        fields["phone_numbers"], fields.get("callback_url"), priority=rec.priority
    )
    return None  # results arrive by callback; the check has no ref_no of its own


SENDERS: dict[str, Sender] = {
    "wa": _send_wa,
    "wa_media": _send_wa_media,
    "wa_official": _send_wa_official,
    "wa_official_reply": _send_wa_official_reply,
    "sms": _send_sms,
    "check": _check_numbers,
}


def payload_of(model: Any) -> dict[str, Any]:
    """The JSON-safe provider fields of a validated request model, for the ledger."""
    return dict(model.model_dump(mode="json", exclude_none=True))
