"""What campaigns raise; part of the tree in :mod:`nusaworker.errors`::

    NusaWorkerError
    └── CampaignError               a campaign operation refused (e.g. resuming a cancelled one)
        ├── CampaignInputError      a campaign's input is refused as a whole, before any row is read
        ├── CampaignRefused         the pre-flight: the balance does not cover the cost
        └── UnknownCampaign         no such campaign (or it expired)

A bad *row* is never an exception: it is a :class:`~nusaworker.campaigns.rows.RowError` in the
stream, and the rows after it go on. Only what makes every row meaningless — a template that
does not parse, a CSV without a destination column, an unknown region — is raised, at the edge.
"""

from __future__ import annotations

from nusaworker.errors import NusaWorkerError


class CampaignError(NusaWorkerError, ValueError):
    """Raised when a campaign operation cannot be done in the campaign's state."""

    retryable = False


class CampaignInputError(CampaignError):
    """Raised when a campaign's input cannot be read at all (template, header, region, format)."""

    retryable = False


class CampaignRefused(CampaignError):
    """Raised when the pre-flight finds the campaign would cost more than the balance holds.
    The campaign is recorded (``cancelled``, with the reason) and nothing was sent."""

    retryable = False

    def __init__(self, campaign_id: str, reason: str) -> None:
        super().__init__(f"campaign {campaign_id} refused: {reason}")
        self.campaign_id = campaign_id
        self.reason = reason


class UnknownCampaign(CampaignError, KeyError):
    """Raised when a campaign id names no campaign (never created, or expired)."""

    retryable = False

    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"no campaign {campaign_id!r}")
        self.campaign_id = campaign_id

    def __str__(self) -> str:
        return str(self.args[0])
