"""The inbox push: what WAChat POSTs to the user's Push URL when a WhatsApp message comes in.

The document shows it only through its receivers (Flask ``request.form``, PHP ``$_POST``): a
form-encoded POST with ``id``, ``gateway_number`` (the gateway that received it),
``originator`` (who wrote), ``receive_date`` and ``msg``. The Push URL is set in the provider's
web app, not through the API. :func:`parse_inbox` reads one push; it makes no HTTP call.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from pydantic import Field

from ..nusasms.models.common import LenientDatetime, ResponseModel

__all__ = ["WAChatInbox", "parse_inbox"]


class WAChatInbox(ResponseModel):
    """One incoming WhatsApp message as pushed (unknown extra fields are kept)."""

    id: str = Field(min_length=1)
    originator: str = Field(min_length=1)
    gateway_number: str | None = None
    # The document shows no date format: parsed when it parses, else kept as text.
    receive_date: LenientDatetime = None
    msg: str = ""

    @property
    def sender(self) -> str:
        """Who wrote the message (``originator``; the samples call it ``sender``)."""
        return self.originator

    @property
    def text(self) -> str:
        """The message text (``msg``)."""
        return self.msg


def parse_inbox(payload: Mapping[str, str] | bytes | str) -> WAChatInbox:
    """Read an inbox push: its form fields, or the raw ``x-www-form-urlencoded`` body.

    Raises :class:`pydantic.ValidationError` (a :class:`ValueError`) when ``id`` or
    ``originator`` is missing: such a push names no message and no sender.
    """
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        fields: dict[str, str] = dict(parse_qsl(payload, keep_blank_values=True))
    else:
        fields = dict(payload)
    return WAChatInbox.model_validate(fields)
