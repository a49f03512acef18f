"""What a message costs in provider credit; pure functions over the channel table.

Each channel's row (:mod:`nusaworker.channels`) says which wallet it spends and how much one
message takes from it (the documented pricing):

    WhatsApp text            1 WA credit per started 1,500 characters (at least 1)
    WhatsApp media           2 WA credits (the caption is free)
    WhatsApp Official        a template broadcast 1 WA credit; a reply in an open room 0
    phone check              0
    SMS (one, or a group)    1 SMS credit per segment: GSM-7 160 / 153 per part, UCS-2 70 / 67
                             (a group send: per member; counted here for one)

Campaigns call :func:`messages_cost` and :func:`preflight` before they enqueue a list, so that
a list the account cannot pay for is refused up front rather than paused half-way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nusaworker.channels import CHANNELS
from nusaworker.channels import channel as channel_row
from nusaworker.ledger import MessageRecord
from nusaworker.providers.nusasms.pricing import (
    WA_CHARS_PER_CREDIT,
    WA_MEDIA_COST,
    WA_OFFICIAL_BROADCAST_COST,
    sms_cost,
    wa_text_cost,
)

__all__ = [
    "MIN_COST",
    "WA_CHARS_PER_CREDIT",
    "WA_MEDIA_COST",
    "WA_OFFICIAL_BROADCAST_COST",
    "Cost",
    "Preflight",
    "message_cost",
    "messages_cost",
    "preflight",
    "sms_cost",
    "wa_text_cost",
]

# The least one message of a channel can cost: a breaker paused for credit closes only when
# the wallet holds at least this much (a reply or a phone check is free, so 0).
MIN_COST: dict[str, int] = {name: row.min_cost for name, row in CHANNELS.items()}


@dataclass(frozen=True)
class Cost:
    """Credit needed, per wallet: ``wa`` (WhatsApp and WhatsApp Official) and ``sms``."""

    wa: int = 0
    sms: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(wa=self.wa + other.wa, sms=self.sms + other.sms)


def message_cost(channel: str, payload: Mapping[str, Any]) -> Cost:
    """The cost of one message, given its ledger channel and its provider fields.

    ``payload`` is what the producer stores (the request model's fields): ``message`` for
    ``wa``, ``text`` (and ``unicode``) for ``sms``. Raises :class:`ValueError` for an unknown
    channel or a payload without its text.
    """
    row = channel_row(channel)
    if row.wallet is None:
        return Cost()
    return Cost(**{row.wallet: row.cost(payload)})


CostItem = MessageRecord | tuple[str, Mapping[str, Any]]


def messages_cost(messages: Iterable[CostItem]) -> Cost:
    """The total cost of messages given as ledger records or ``(channel, payload)`` pairs."""
    total = Cost()
    for item in messages:
        if isinstance(item, MessageRecord):
            total += message_cost(item.channel, item.payload)
        else:
            total += message_cost(*item)
    return total


@dataclass(frozen=True)
class Preflight:
    """The answer of :func:`preflight`: whether the balance covers the cost, and by how much not."""

    cost: Cost
    wa_balance: float | None
    sms_balance: float | None

    @property
    def wa_shortfall(self) -> float:
        """WA credit missing (0 when covered; the whole cost when the balance is unknown)."""
        return _shortfall(self.cost.wa, self.wa_balance)

    @property
    def sms_shortfall(self) -> float:
        """SMS credit missing (0 when covered; the whole cost when the balance is unknown)."""
        return _shortfall(self.cost.sms, self.sms_balance)

    @property
    def ok(self) -> bool:
        """True when both wallets cover the cost."""
        return self.wa_shortfall == 0 and self.sms_shortfall == 0


def _shortfall(need: int, have: float | None) -> float:
    if need == 0:
        return 0.0
    if have is None:
        return float(need)
    return max(0.0, need - have)


def preflight(cost: Cost, *, wa_balance: float | None, sms_balance: float | None) -> Preflight:
    """Compare ``cost`` with the balances (e.g. from :class:`~.balance.BalanceSnapshot`)."""
    return Preflight(cost=cost, wa_balance=wa_balance, sms_balance=sms_balance)
