"""Fuzzing the edges (issue 13): hypothesis profiles, the per-surface tally, shared fixtures.

``make test`` runs the ``suite`` profile (200 examples a surface, drawn afresh each run: 20
surfaces in about 30 s on a quiet 2-core box); ``make fuzz`` sets
``NUSAWORKER_FUZZ_PROFILE=long`` (10,000 examples a surface, or ``NUSAWORKER_FUZZ_EXAMPLES``)
and writes the tally to ``bench-results/fuzz.json`` after every surface.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from nusaworker.sandbox import Sandbox
from nusaworker.testing.redis_server import delete_prefix

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
_COMMON: dict[str, Any] = {
    "deadline": None,  # each example does real Redis I/O: its time says nothing
    "database": None,  # nothing written to .hypothesis/: every run draws afresh
    "suppress_health_check": [*_SLOW_OK, HealthCheck.function_scoped_fixture],
    "print_blob": True,
}
settings.register_profile(
    "suite", max_examples=int(os.environ.get("NUSAWORKER_FUZZ_EXAMPLES", "200")), **_COMMON
)
settings.register_profile(
    "long", max_examples=int(os.environ.get("NUSAWORKER_FUZZ_EXAMPLES", "10000")), **_COMMON
)
PROFILE = os.environ.get("NUSAWORKER_FUZZ_PROFILE", "suite")
# Loaded now, before the test modules are imported: @given reads the profile when it decorates.
settings.load_profile(PROFILE)

# surface → Counter(accepted=…, refused=…, refused_hits=…, seconds=…)
TALLY: dict[str, Counter[str]] = {}


def _count(surface: str, outcome: str, amount: float = 1) -> None:
    counts = TALLY.setdefault(surface, Counter())
    counts[outcome] += amount  # type: ignore[assignment]


@pytest.fixture(scope="session")
def tally() -> Any:
    """``tally(surface, outcome, amount=1)``: count one outcome of one example of ``surface``."""
    return _count


@pytest.fixture(scope="module")
def fuzz_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"nwtest:fuzz:{uuid.uuid4().hex[:8]}:"
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
def fuzz_box() -> Iterator[Sandbox]:
    """The provider sandbox the fuzzed producer is configured for: it counts every hit."""
    with Sandbox(host="127.0.0.1", port=0, seed=1) as box:
        yield box


@pytest.fixture(autouse=True)
def _write_tally() -> Iterator[None]:
    # After every surface, so that a long run stopped half-way still leaves its figures.
    yield
    if PROFILE == "long":
        _dump()


def _dump() -> None:
    path = Path(os.environ.get("NUSAWORKER_FUZZ_OUT", "bench-results/fuzz.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "profile": PROFILE,
        "surfaces": {k: dict(v) for k, v in sorted(TALLY.items())},
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY:
        return
    terminalreporter.section(f"fuzz tally (profile {PROFILE})")
    for surface, counts in sorted(TALLY.items()):
        examples = counts["accepted"] + counts["refused"]
        terminalreporter.write_line(
            f"{surface:<34} examples {examples:>6}  accepted {counts['accepted']:>6}  "
            f"refused {counts['refused']:>6}  hits for refused {counts['refused_hits']}  "
            f"{counts['seconds']:.1f} s"
        )
    if PROFILE == "long":
        _dump()
