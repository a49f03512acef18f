"""What NusaSMS charges, from its documented pricing; pure functions.

A WhatsApp text costs 1 WA credit per started 1,500 characters; media 2; a WA Official
template broadcast 1; a reply in an open room and a phone check nothing; an SMS one SMS credit
per segment (GSM-7 160/153, UCS-2 70/67: :mod:`.segments`). The channel table
(:mod:`nusaworker.channels`) gives each channel its cost from these.
"""

from __future__ import annotations

import math

from .segments import count_segments

__all__ = [
    "WA_CHARS_PER_CREDIT",
    "WA_MEDIA_COST",
    "WA_OFFICIAL_BROADCAST_COST",
    "sms_cost",
    "wa_text_cost",
]

WA_CHARS_PER_CREDIT = 1500
WA_MEDIA_COST = 2
WA_OFFICIAL_BROADCAST_COST = 1


def wa_text_cost(message: str) -> int:
    """WA credits of a text message: one per started 1,500 characters, at least one."""
    return max(1, math.ceil(len(message) / WA_CHARS_PER_CREDIT))


def sms_cost(text: str, *, unicode: bool | None = None) -> int:
    """SMS credits of a text: its segment count (UCS-2 when it needs it or ``unicode``)."""
    return count_segments(text, unicode=unicode or None).segments
