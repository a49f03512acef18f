"""A recipients callable for recurring-campaign tests and the demo: what a backend's
``myapp.campaigns:recipients`` would be (imported by name in the worker at each run)."""

from __future__ import annotations

from collections.abc import Iterator

#: The numbers :func:`five` returns, for a test to look for at the provider.
FIVE = tuple(f"62816{74000000 + i}" for i in range(5))


def five() -> Iterator[dict[str, str]]:
    """Five customers, as a backend's query would yield them."""
    for i, number in enumerate(FIVE):
        yield {"phone": number, "name": f"Customer {i}"}
