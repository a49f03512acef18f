"""Fixtures of the integration tests that more than one file needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nusaworker.keys import Keys


@pytest.fixture
def make_pacing_gate(redis_url: str, key_prefix: str) -> Iterator[Callable[..., Any]]:
    """Factory: ``make_pacing_gate(GateClass, **options)`` — a warmed-up gate on the test's key
    prefix with a client of its own (like a separate worker); every one is closed afterwards."""
    made: list[Any] = []

    def factory(gate_class: type, **options: Any) -> Any:
        gate = gate_class(redis_url, keys=Keys(prefix=key_prefix), **options)
        gate.warm_up(4)
        made.append(gate)
        return gate

    yield factory
    for gate in made:
        gate.close()
