"""What the campaign input layer raises; part of the tree in :mod:`nusaworker.errors`::

    NusaWorkerError
    └── CampaignInputError      a campaign's input is refused as a whole, before any row is read

A bad *row* is never an exception: it is a :class:`~nusaworker.campaigns.rows.RowError` in the
stream, and the rows after it go on. Only what makes every row meaningless — a template that
does not parse, a CSV without a destination column, an unknown region — is raised, at the edge.
"""

from __future__ import annotations

from nusaworker.errors import NusaWorkerError


class CampaignInputError(NusaWorkerError, ValueError):
    """Raised when a campaign's input cannot be read at all (template, header, region, format)."""

    retryable = False
