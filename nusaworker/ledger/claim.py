"""What :meth:`Ledger.claim` answers: may this task send, and with which fencing token."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from nusaworker.ledger.states import MessageState

#: The error of a campaign's message withdrawn by its campaign's cancel before it was claimed.
CAMPAIGN_CANCELLED = "campaign cancelled before this message was sent"


class ClaimOutcome(StrEnum):
    """How a claim went; see the redelivery policy in :mod:`nusaworker.ledger`."""

    #: The record was ``accepted``; it is now ``sending`` and the caller holds the token.
    CLAIMED = "claimed"
    #: The record was ``sending`` but its provider hit never started (its worker died, or is
    #: still waiting at the pacing gate). The caller holds a new token; the old holder is
    #: fenced out and its ``begin_hit`` will fail. Sending is safe.
    TAKEN_OVER = "taken_over"
    #: The record was ``sending`` with its hit started and no ``ref_no``: the hit may have
    #: reached the provider. The caller holds no token unless it asked to resend.
    IN_DOUBT = "in_doubt"
    #: Any other state: the task must do nothing.
    NOT_CLAIMABLE = "not_claimable"
    #: The record was not sent within its validity: no token, and the record is now
    #: ``expired`` (an in-doubt one past it answers ``IN_DOUBT``, without a token, instead).
    EXPIRED = "expired"
    #: The record's campaign is paused: no token; the record stays ``accepted`` and its id is
    #: back in the campaign's window, which the resume enqueues again.
    PAUSED = "paused"
    #: The record's campaign is cancelled: no token; the caller aborts the record.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Claim:
    """The answer of :meth:`Ledger.claim`.

    ``state`` is the record's state after the claim (``sending`` whenever a token was handed
    out), ``attempts`` its attempt counter after the claim.
    """

    outcome: ClaimOutcome
    state: MessageState
    attempts: int
    token: str | None = field(default=None, repr=False)

    @property
    def may_send(self) -> bool:
        """Whether the caller holds the claim: it may go to the gate and call ``begin_hit``."""
        return self.token is not None
