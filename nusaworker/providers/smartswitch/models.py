"""Request and answer models of the SmartSwitch "HTTP API message" (seed 003).

One request carries one or more *groups* of message arguments — ``destination_number``,
``body``, ``source_name``, ``source_number``, ``require_dlr``, ``stealth_ping``,
``request_id`` — repeated in the query string, the n-th of each belonging together (the
document's two-recipient example repeats ``destination_number``, ``body`` and ``require_dlr``).
The client sends one body to many destinations, so it writes every group in full.

Request models refuse unknown fields (a typo must not silently drop an argument); answer models
keep fields the document does not (yet) describe, because a new field must not break a send.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nusaworker.limits import BOUNDS, Destination, Id, SenderName, SmsText

from ..fields import ProviderId

__all__ = [
    "MAX_DESTINATIONS",
    "ApiError",
    "Document",
    "MessageAttributes",
    "MessageRequest",
    "Resource",
    "normalize_number",
]

# The document sets no limit on destinations per request; everything rides in the query string,
# which servers and proxies cap (8 KiB is common). 100 keeps a request of 160-character bodies
# near 30 KiB: an assumption, stated in docs/providers/smartswitch.md.
MAX_DESTINATIONS = BOUNDS["destinations"].limit
_DIGITS = re.compile(r"[0-9]{8,15}")


def normalize_number(value: str) -> str:
    """``value`` as 8-15 digits (one leading ``+`` dropped), or :class:`ValueError` saying why."""
    if not isinstance(value, str):
        raise ValueError("must be a string of digits")
    number = value.strip().removeprefix("+")
    if not _DIGITS.fullmatch(number):
        raise ValueError("must be 8 to 15 digits (an optional leading '+' is allowed)")
    return number


class MessageRequest(BaseModel):
    """``POST /api/message``: one body to one or more destinations.

    ``request_ids`` are the client's own ids, one per destination, echoed back in each
    destination's answer (``meta.request_id``); the client makes them when none are given.
    ``stealth_ping`` sends an invisible message (the recipient sees nothing; the delivery
    receipt tells whether the number is reachable), so ``body`` may then be left out.
    """

    model_config = ConfigDict(extra="forbid")

    destinations: list[Destination] = Field(min_length=1, max_length=MAX_DESTINATIONS)
    body: SmsText | None = None
    source_name: SenderName | None = Field(default=None, min_length=1)
    source_number: Destination | None = None
    require_dlr: bool = False
    stealth_ping: bool = False
    request_ids: list[Id] | None = Field(default=None, max_length=MAX_DESTINATIONS)

    @field_validator("destinations")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        numbers = []
        for index, number in enumerate(value):
            try:
                numbers.append(normalize_number(number))
            except ValueError as exc:
                raise ValueError(f"destination {index}: {exc}") from None
        return numbers

    @field_validator("source_number")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return None if value is None else normalize_number(value)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.stealth_ping and not (self.body or "").strip():
            raise ValueError("body: required unless stealth_ping is set")
        if self.request_ids is not None:
            ids = self.request_ids
            if len(ids) != len(self.destinations):
                raise ValueError("request_ids: one per destination")
            if any(not isinstance(i, str) or not i.strip() for i in ids):
                raise ValueError("request_ids: must be non-empty strings")
            if len(set(ids)) != len(ids):
                raise ValueError("request_ids: must be unique within a request")
        return self

    def groups(self, request_ids: list[str]) -> list[tuple[str, str]]:
        """The message arguments as query pairs, one full group per destination, in order."""
        pairs: list[tuple[str, str]] = []
        for number, request_id in zip(self.destinations, request_ids, strict=True):
            pairs.append(("destination_number", number))
            if self.body is not None:
                pairs.append(("body", self.body))
            if self.source_name is not None:
                pairs.append(("source_name", self.source_name))
            if self.source_number is not None:
                pairs.append(("source_number", self.source_number))
            if self.require_dlr:
                pairs.append(("require_dlr", "1"))
            if self.stealth_ping:
                pairs.append(("stealth_ping", "1"))
            pairs.append(("request_id", request_id))
        return pairs


class _Answer(BaseModel):
    # Numbers where text is documented (a numeric id or destination) are accepted as text.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class ApiError(_Answer):
    """One JSON:API error: ``code`` for the program, ``title``/``detail`` for people."""

    code: str | None = None
    title: str | None = None
    detail: str | None = None


class MessageAttributes(_Answer):
    """``attributes`` of one destination's answer. ``status`` is read by :func:`.answer`."""

    destination_number: str | None = None
    segments: int = 0
    status: str = ""

    @field_validator("segments", mode="before")
    @classmethod
    def _segments(cls, value: Any) -> Any:
        return 0 if value is None or value == "" else value


class Resource(_Answer):
    """One destination's answer: a JSON:API resource object of type ``message``."""

    id: ProviderId | None = None
    type: str | None = None
    attributes: MessageAttributes = Field(default_factory=MessageAttributes)
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        return {} if value is None else value


class Document(_Answer):
    """A whole answer: ``data`` (one object, or an array for several numbers) or ``errors``."""

    data: Resource | list[Resource] | None = None
    errors: list[ApiError] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        # The document: "errors and data will not be present in 1 response simultaneously".
        if (self.data is None) == (self.errors is None):
            raise ValueError("an answer holds either data or errors")
        return self

    def rows(self) -> list[Resource]:
        """``data`` as a list (one object is a list of one)."""
        if self.data is None:
            return []
        return self.data if isinstance(self.data, list) else [self.data]
