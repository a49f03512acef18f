"""Wait for a condition, not for time: the helper tests and tools use instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.1) -> T:
    """Call ``predicate`` until it returns something truthy (returned) or ``timeout`` passes
    (then its last answer is returned, for the caller's assertion to show)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
