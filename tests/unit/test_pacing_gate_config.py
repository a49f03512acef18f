"""RedisGate construction and bookkeeping that need no Redis (nothing connects until asked)."""

from __future__ import annotations

import math

import pytest

from nusaworker.errors import ConfigurationError
from nusaworker.pacing import DEFAULT_HORIZONS, Acquisition, GateStats, RedisGate
from nusaworker.providers.gate import Gate

URL = "redis://127.0.0.1:1/0"  # never contacted by these tests


def test_redisgate_implements_the_gate_protocol() -> None:
    assert isinstance(RedisGate(URL), Gate)


def test_redisgate_refuses_a_tolerance_beyond_the_margin() -> None:
    with pytest.raises(ConfigurationError, match="safety_margin_ms"):
        RedisGate(URL, safety_margin_ms=2.0, late_tolerance_ms=2.5)
    with pytest.raises(ConfigurationError):
        RedisGate(URL, late_tolerance_ms=0)
    with pytest.raises(ConfigurationError):
        RedisGate(URL, min_interval_ms=0)
    with pytest.raises(ConfigurationError, match="horizons"):
        RedisGate(URL, horizons={"bulk": -1.0})


def test_redisgate_merges_horizons_over_the_defaults() -> None:
    gate = RedisGate(URL, horizons={"normal": 3.0})
    assert gate.horizons["normal"] == 3.0
    assert gate.horizons["bulk"] == DEFAULT_HORIZONS["bulk"]
    assert math.isinf(gate.horizons["otp"])


def test_redisgate_step_is_interval_plus_margin() -> None:
    gate = RedisGate(URL, min_interval_ms=50.0, safety_margin_ms=2.0, late_tolerance_ms=1.0)
    assert gate.step_s == pytest.approx(0.052)


def test_redisgate_penalize_without_positive_seconds_touches_nothing() -> None:
    gate = RedisGate(URL)  # a closed port: any Redis call would raise GateUnavailable
    gate.penalize("acct", 0)
    gate.penalize("acct", -3)
    assert gate.stats.penalties == 0


def test_gatestats_record_sums_acquisitions() -> None:
    stats = GateStats()
    stats.record(Acquisition(0.01, 0.05, 2, 1, 1, lateness_s=0.0002, checked_at=1.0))
    stats.record(Acquisition(0.02, 0.10, 0, 0, 0, lateness_s=0.0001, checked_at=2.0))
    stats.count("penalties")
    snap = stats.snapshot()
    assert snap["acquisitions"] == 2
    assert snap["refusals"] == 2
    assert snap["late_reacquires"] == 1
    assert snap["total_wait_s"] == pytest.approx(0.15)
    assert snap["penalties"] == 1
    assert stats.acquisitions == 2  # reading twice does not count twice
    assert stats.late_reacquires == 1
    assert stats.given_back == 1


def test_settings_pacing_defaults_pick_the_causal_gate_with_its_own_margin() -> None:
    from nusaworker.factories import pacing_gate
    from nusaworker.keys import Keys
    from nusaworker.pacing import CausalGate, RedisGate
    from nusaworker.pacing.causal import DEFAULT_SAFETY_MARGIN_MS as CAUSAL_MARGIN_MS
    from nusaworker.settings import Settings

    settings = Settings()
    assert settings.pacing_gate == "causal"
    assert settings.pacing_safety_margin_ms is None  # each gate's own measured default
    gate = pacing_gate(settings, Keys())
    assert isinstance(gate, CausalGate)
    assert gate.safety_margin_ms == CAUSAL_MARGIN_MS
    gate.close()
    slots = pacing_gate(Settings(pacing_gate="slots"), Keys())
    assert isinstance(slots, RedisGate)
    assert slots.safety_margin_ms == 2.0 and slots.late_tolerance_ms == 1.0
    slots.close()
