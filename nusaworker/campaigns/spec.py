"""What a campaign is asked to do (:class:`CampaignSpec`), where it is (:class:`CampaignState`).

A spec is validated once, at the edge, before any row is read: a bad channel, template, share
or start time is a :class:`pydantic.ValidationError` naming the field, and nothing is written.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nusaworker.campaigns.templating import Template
from nusaworker.campaigns.window import SendingWindow
from nusaworker.limits import BOUNDS, CampaignName, CampaignTemplate, CampaignWindow, Name

#: ``auto``: WhatsApp where the number is registered on it, SMS otherwise (a phone check).
CampaignChannel = Literal["wa", "sms", "auto"]

#: The channels a campaign's messages end up on.
SEND_CHANNELS = ("wa", "sms")

# The bounds of nusaworker.limits (docs/limits.md): a name for a status line; a template no
# longer than the longest WhatsApp text.
MAX_NAME = BOUNDS["campaign.name"].limit
MAX_TEMPLATE = BOUNDS["campaign.template"].limit


class CampaignState(StrEnum):
    """Where a campaign is. ``finished`` and ``cancelled`` are final."""

    #: Its rows are being read and recorded; nothing is sent yet.
    ACCEPTING = "accepting"
    #: Recorded; it starts at ``start_at``.
    SCHEDULED = "scheduled"
    #: The dispatcher keeps its window on the queue.
    RUNNING = "running"
    #: Outside its sending window: paused by itself, it resumes when the window opens.
    WAITING = "waiting"
    #: Paused by an operator; only a resume sends again.
    PAUSED = "paused"
    #: Cancelled: what was not claimed is never sent (aborted); the rest ends as it ends.
    CANCELLED = "cancelled"
    #: Every row was handed out and every message claimed: nothing more to send.
    FINISHED = "finished"

    @property
    def is_final(self) -> bool:
        return self in (CampaignState.CANCELLED, CampaignState.FINISHED)


#: The states in which the dispatcher visits a campaign.
ACTIVE_STATES = frozenset(
    {CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.WAITING, CampaignState.PAUSED}
)


class CampaignSpec(BaseModel):
    """A campaign's settings; the rows come separately (a file, an iterable).

    ``template`` is rendered per row (``{field}`` from the row's columns). ``rate_share`` is the
    share (0 to 1] of the route's account rate the campaign may take, so that other traffic keeps
    flowing. ``window`` is a daily sending window, ``"08:00-20:00 Asia/Jakarta"``; outside it
    the campaign waits. ``validity_s`` bounds how long a message may wait once handed out.
    ``include_unsubscribe`` is passed through to WhatsApp (the provider's own opt-out link).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: CampaignName = Field(min_length=1)
    channel: CampaignChannel
    template: CampaignTemplate = Field(min_length=1)
    priority: Literal["bulk", "normal"] = "bulk"
    start_at: float | None = Field(default=None, ge=0)
    window: CampaignWindow | None = None
    rate_share: float = Field(default=1.0, gt=0, le=1)
    validity_s: float | None = Field(default=None, gt=0)
    include_unsubscribe: bool | None = None
    region: str = Field(default="ID", min_length=2, max_length=3)
    destination_column: Name | None = Field(default=None, min_length=1)

    @field_validator("template")
    @classmethod
    def _template_parses(cls, value: str) -> str:
        Template(value)  # raises CampaignInputError (a ValueError) naming the problem
        return value

    @field_validator("window")
    @classmethod
    def _window_parses(cls, value: str | None) -> str | None:
        if value is not None:
            SendingWindow.parse(value)
        return value

    def sending_window(self) -> SendingWindow | None:
        """The parsed :class:`~nusaworker.campaigns.window.SendingWindow`, or None."""
        return None if self.window is None else SendingWindow.parse(self.window)

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, raw: str) -> CampaignSpec:
        return cls.model_validate(json.loads(raw))
