"""The client's short, in-process retry rules as small pure functions.

Tenacity drives the loop in :mod:`.transport`; these functions decide. The decision whether to
try again is made from the error class alone (``retryable``); how long to wait comes from the
provider's ``Retry-After`` when it sent one, else from exponential backoff with full jitter.
Long retries (minutes, hours) are not made here but by the ledger.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from nusaworker import backoff as _backoff

from .errors import ProviderError, RateLimited

__all__ = [
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "backoff",
    "parse_retry_after",
    "parse_retry_after_value",
    "should_retry",
    "wait_seconds",
]

DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 8.0


def should_retry(exc: BaseException) -> bool:
    """Whether the client may make the same hit again after ``exc``.

    Only provider errors whose class is ``retryable`` are retried here. Everything else — a
    :class:`~nusaworker.errors.GateUnavailable` from the pacing gate, a bug — propagates at once:
    the gate already fails closed and the task layer decides what to do with it.
    """
    return isinstance(exc, ProviderError) and type(exc).retryable


def parse_retry_after_value(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    Returns ``None`` when the value is missing or unreadable; a date in the past gives ``0``.
    ``now`` (epoch seconds) is injectable for tests.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are GMT; a naive result means the zone was "-0000" or missing.
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait as the response headers ask, or ``None`` when they do not say.

    ``retry-after-ms`` (milliseconds, as some gateways send) wins over ``Retry-After``, which
    may be delta-seconds or an HTTP-date. Header names are matched case-insensitively.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            millis = float(ms.strip())
        except ValueError:
            millis = float("nan")
        if millis == millis and millis not in (float("inf"), float("-inf")):
            return max(millis / 1000.0, 0.0)
    return parse_retry_after_value(lowered.get("retry-after"), now=now)


def backoff(
    attempt: int,
    *,
    base: float = DEFAULT_BACKOFF_BASE,
    cap: float = DEFAULT_BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    The one formula (:func:`nusaworker.backoff.backoff`) with the client's defaults:
    exponential with full jitter, uniform in ``[0, min(cap, base * 2 ** (attempt - 1))]``, so a
    fleet that failed together does not retry together. ``rand`` returns a float in [0, 1).
    """
    return _backoff.backoff(attempt, base=base, cap=cap, rand=rand)


def wait_seconds(
    exc: BaseException | None,
    attempt: int,
    *,
    base: float = DEFAULT_BACKOFF_BASE,
    cap: float = DEFAULT_BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float:
    """How long to wait before the next attempt after ``exc`` ended attempt ``attempt``.

    A 429 with a ``Retry-After`` is honoured exactly (the retry budget in the transport decides
    whether that wait is affordable at all); everything else backs off exponentially.
    """
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return exc.retry_after
    return backoff(attempt, base=base, cap=cap, rand=rand)
