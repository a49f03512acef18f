"""The poll gate: a poll token first, then a bulk pacing slot (pure, with stand-ins)."""

from __future__ import annotations

from typing import Any

import pytest

from nusaworker.errors import ConfigurationError
from nusaworker.tracking.budget import PollGate, polls_per_second


def test_polls_per_second_is_the_share_of_the_provider_rate() -> None:
    assert polls_per_second(0.2, 50.0) == pytest.approx(4.0)
    assert polls_per_second(1.0, 100.0) == pytest.approx(10.0)
    assert polls_per_second(0.0, 50.0) == 0.0


def test_polls_per_second_refuses_a_zero_interval() -> None:
    with pytest.raises(ConfigurationError):
        polls_per_second(0.2, 0)


class Log:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []


class FakeBudget:
    def __init__(self, log: Log) -> None:
        self.log = log

    def take(self, account: str) -> None:
        self.log.calls.append(("token", account))


class FakeGate:
    def __init__(self, log: Log) -> None:
        self.log = log

    def acquire(self, account: str, *, priority: str = "normal", on_grant: Any = None) -> None:
        self.log.calls.append(("slot", priority))

    def penalize(self, account: str, seconds: float) -> None:
        self.log.calls.append(("penalize", seconds))


def test_poll_gate_takes_a_token_then_a_bulk_slot_whatever_was_asked() -> None:
    log = Log()
    gate = PollGate(FakeGate(log), FakeBudget(log))  # type: ignore[arg-type]

    gate.acquire("acct", priority="otp")
    gate.penalize("acct", 1.5)

    assert log.calls == [("token", "acct"), ("slot", "bulk"), ("penalize", 1.5)]
