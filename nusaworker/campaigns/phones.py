"""A campaign's destinations, normalised by :mod:`nusaworker.phones` (the rules live there).

The normaliser moved down to the foundation so that the producer, the CLI and phone checks
read numbers the way a campaign does; a campaign refuses an unknown region as its own input
error (:class:`~nusaworker.campaigns.errors.CampaignInputError`), before any row is read.
"""

from __future__ import annotations

from nusaworker import phones
from nusaworker.campaigns.errors import CampaignInputError
from nusaworker.phones import CACHE_SIZE, InvalidPhone, PhoneProblem

__all__ = ["CACHE_SIZE", "InvalidPhone", "PhoneNormaliser", "PhoneProblem"]


class PhoneNormaliser(phones.PhoneNormaliser):
    """:class:`nusaworker.phones.PhoneNormaliser`, refusing an unknown region as
    :class:`~nusaworker.campaigns.errors.CampaignInputError`."""

    def __init__(self, region: str = "ID", *, cache_size: int = CACHE_SIZE) -> None:
        try:
            super().__init__(region, cache_size=cache_size)
        except phones.UnknownRegion as exc:
            raise CampaignInputError(str(exc)) from None
