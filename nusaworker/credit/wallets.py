"""What each provider family offers to read an account's money, for the probe and the watch.

NusaSMS has wallets with balances and expiry dates (``balance``, SMS ``command CREDITS``).
WAChat has none: each sender (gateway) has a message quota (``sender/{sender}``: ``counter``
against ``limit``), which is what runs out — so its quota is read like a balance, the smallest
remaining quota of the account's watched senders (the client's ``senders``), and its
``auth/api_key`` call tells whether the key works. A family without such calls has no reader:
its breakers close by ``nusaworker resume`` only.

The family of a client is the prefix of its pacing fingerprint (``"wachat:…"``, see
:mod:`nusaworker.providers.family`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nusaworker.providers.family import family_of

__all__ = ["WACHAT_QUOTA", "family_of", "wachat_quota"]

# The balance type under which a WAChat account's quota is watched (settings' thresholds).
WACHAT_QUOTA = "wachat_quota"


def wachat_quota(client: Any, pick: Callable[[list[float]], float] = min) -> float | None:
    """The quota left among ``client``'s watched senders, ``pick``ed: the smallest for the
    watch (a gateway running low is worth an alert), the largest for the probe (one sender with
    quota is enough to send). ``None``: none watched, or none with a stated limit. Checks the
    key first (raises AuthError when refused)."""
    client.get_account(priority="normal")
    left = [
        client.get_gateway_balance(sender, priority="normal").remaining for sender in client.senders
    ]
    known = [float(n) for n in left if n is not None]
    return pick(known) if known else None
