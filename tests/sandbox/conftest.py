"""Fixtures of the sandbox tests: a rule-free sandbox and a session (the callback receiver is
``tests/conftest.py``'s ``receiver``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    """A sandbox with the gap rule off (endpoint tests fire requests back to back)."""
    return make_sandbox(min_interval_ms=0, seed=7)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A pooled session (keep-alive, like the real client)."""
    session = requests.Session()
    session.trust_env = False  # never route 127.0.0.1 through an environment proxy
    yield session
    session.close()
