"""What a SmartSwitch send costs: segments, one balance unit each ("see Message billing").

The answer's ``segments`` is what the provider billed, per destination, and is the truth
(:attr:`.results.DestinationResult.cost`). Before a send, the cost is estimated the way SMS are
split everywhere — GSM-7 160/153, UCS-2 70/67 — with the one segment counter the product has
(:mod:`nusaworker.providers.nusasms.segments`); the document's "Message billing" page is not
part of the seed, so the estimate is an assumption. A stealth ping (no body) counts one.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..nusasms.segments import count_segments

__all__ = ["estimate_cost", "sms_cost"]


def sms_cost(body: str | None) -> int:
    """Estimated segments of one message (at least one)."""
    if not body:
        return 1
    return count_segments(body).segments


def estimate_cost(destinations: Sequence[str], body: str | None) -> int:
    """Estimated segments of one body sent to every destination."""
    return len(destinations) * sms_cost(body)
