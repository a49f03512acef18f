"""Message ids: 26 lowercase hex characters that sort by creation time.

An id is 12 hex digits of Unix time in milliseconds followed by 14 hex digits (56 bits) of
randomness. Sorting ids as strings sorts them by creation time across the fleet (to the
clock skew between hosts), which keeps logs, ``SCAN`` output and reports in a natural order.
Within one process ids are strictly increasing: when the clock has not moved on (or moved
back) the random part is incremented instead, so two ids made in the same millisecond still
sort in the order they were made.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

ID_LENGTH = 26
_TIME_DIGITS = 12
_RANDOM_BITS = 56
_RANDOM_LIMIT = 1 << _RANDOM_BITS


class MessageIdGenerator:
    """Makes sortable, unique ids; one per process is enough (it is thread-safe)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        randbits: Callable[[int], int] = secrets.randbits,
    ) -> None:
        self._clock = clock
        self._randbits = randbits
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def __call__(self) -> str:
        """Return a new id, greater than every id this generator made before."""
        with self._lock:
            ms = int(self._clock() * 1000)
            if ms > self._last_ms:
                # Keep the top bit clear so that the increments below cannot overflow in
                # any realistic burst (2**55 ids in one millisecond).
                random_part = self._randbits(_RANDOM_BITS - 1)
            else:
                ms = self._last_ms
                random_part = self._last_random + 1
                if random_part >= _RANDOM_LIMIT:  # pragma: no cover - 2**55 ids in one ms
                    ms += 1
                    random_part = self._randbits(_RANDOM_BITS - 1)
            self._last_ms, self._last_random = ms, random_part
        return f"{ms:0{_TIME_DIGITS}x}{random_part:0{_RANDOM_BITS // 4}x}"


_default_generator = MessageIdGenerator()


def new_message_id() -> str:
    """A fresh message id: 26 hex characters, sortable by creation time, unique."""
    return _default_generator()


def message_id_time(message_id: str) -> float:
    """The creation time (epoch seconds, millisecond precision) encoded in ``message_id``."""
    return int(message_id[:_TIME_DIGITS], 16) / 1000
