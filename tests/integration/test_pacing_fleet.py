"""Many processes, many threads, one account: the gap holds where it is measured."""

from __future__ import annotations

import pytest

from nusaworker.bench.pacing_harness import measure

pytestmark = pytest.mark.integration


def test_harness_three_processes_keep_every_gap_and_near_full_rate(
    redis_url: str, key_prefix: str
) -> None:
    figures = measure(
        redis_url, processes=3, threads=4, duration_s=1.5, priority="bulk", key_prefix=key_prefix
    )
    assert figures["hits"] >= 20
    assert figures["violations"] == 0
    assert figures["min_gap_ms"] >= 50.0
    # Integration on a shared box, not a benchmark: a generous lower bound only.
    assert figures["achieved_rate_per_s"] >= 0.8 * figures["ideal_rate_per_s"]
    assert figures["acquisitions"] == figures["hits"]
