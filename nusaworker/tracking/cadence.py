"""When to ask again about a message that is not final yet: pure functions, no I/O.

Most messages are delivered within seconds, so a young message is polled often; the longer
one stays open, the less likely each further poll is to find news, so the interval grows with
the message's age (time since it was sent)::

    age < 1 min    every 5 s
    age < 5 min    every 15 s
    age < 30 min   every 1 min
    age < 6 h      every 5 min
    later          every 15 min

until the horizon (a setting, default 24 h), when the record becomes ``expired``. The last
poll is placed exactly at the horizon, so a message is never given up on without a last look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# (age below which it applies, interval) in seconds, ascending; the last one must be unbounded.
DEFAULT_STEPS: tuple[tuple[float, float], ...] = (
    (60.0, 5.0),
    (300.0, 15.0),
    (1800.0, 60.0),
    (6 * 3600.0, 300.0),
    (math.inf, 900.0),
)


def poll_interval(age_s: float, steps: Sequence[tuple[float, float]] = DEFAULT_STEPS) -> float:
    """The interval between two polls of a message sent ``age_s`` seconds ago."""
    for below, interval in steps:
        if age_s < below:
            return interval
    return steps[-1][1]


def deadline(sent_at: float, horizon_s: float) -> float:
    """When a message sent at ``sent_at`` expires if it is still not final."""
    return sent_at + horizon_s


def is_overdue(sent_at: float, now: float, horizon_s: float) -> bool:
    """Whether the message is past its horizon: expire it rather than poll it again."""
    return now >= deadline(sent_at, horizon_s)


def next_poll_at(
    sent_at: float,
    now: float,
    horizon_s: float,
    steps: Sequence[tuple[float, float]] = DEFAULT_STEPS,
) -> float | None:
    """When to poll next after a non-final answer at ``now``; ``None``: past the horizon.

    Never later than the horizon, so the last poll happens right at it.
    """
    end = deadline(sent_at, horizon_s)
    if now >= end:
        return None
    return min(now + poll_interval(max(0.0, now - sent_at), steps), end)
