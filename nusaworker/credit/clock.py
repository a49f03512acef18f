"""The provider's calendar: its expiry dates are dates in Jakarta (WIB, UTC+7)."""

from __future__ import annotations

import datetime as dt

# NusaSMS is an Indonesian provider; a balance "valid until 2027-12-31" ends with that day in
# Western Indonesian Time, which has no daylight saving, so a fixed offset is exact.
PROVIDER_TZ = dt.timezone(dt.timedelta(hours=7), "WIB")


def provider_today(now: float) -> dt.date:
    """The provider's date at epoch time ``now``."""
    return dt.datetime.fromtimestamp(now, tz=PROVIDER_TZ).date()
