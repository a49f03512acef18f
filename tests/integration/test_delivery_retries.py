"""Every message reaches a final state: delivery's retries against a real ledger in Redis.

The send task and beat are played by the test, step by step, on a clock it moves: deliver;
when the outcome is a retry, move the clock to ``retry_at`` and let the release job
(:func:`nusaworker.tracking.release.release_due`) hand the message back; deliver again. The
client is a scripted stand-in that goes through the same gate and fence as the real one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from nusaworker.delivery import Outcome, deliver
from nusaworker.errors import GateUnavailable
from nusaworker.fencing import FencedGate
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.providers.errors import (
    AuthError,
    InsufficientCredit,
    RateLimited,
    TransientError,
)
from nusaworker.providers.gate import NoopGate
from nusaworker.retries import RetryRules
from nusaworker.routing import PRIORITIES
from nusaworker.testing.clock import T0, FakeClock
from nusaworker.tracking.release import release_due

pytestmark = pytest.mark.integration

S = MessageState
RULES = RetryRules.defaults()

# Every error delivery retries later (auth and credit errors only without a circuit breaker).
RETRIED = [
    RateLimited("HTTP 429 too many requests", retry_after=1.0),
    TransientError("HTTP 503 service unavailable"),
    GateUnavailable("redis down"),
    AuthError("HTTP 401 unauthorized"),
    InsufficientCredit("HTTP 402 payment required"),
]


@dataclass
class Sent:
    ref_no: str


class ScriptedClient:
    """Takes a slot from its gate like the real client (so the fence runs), then answers
    ``outcomes`` in turn, the last one for ever. A GateUnavailable comes from the gate."""

    def __init__(self, *outcomes: BaseException | str) -> None:
        self.gate = FencedGate(NoopGate())
        self.outcomes = list(outcomes)
        self.hits = 0

    def _hit(self, priority: str) -> Sent:
        outcome = self.outcomes[0] if len(self.outcomes) == 1 else self.outcomes.pop(0)
        if isinstance(outcome, GateUnavailable):
            raise outcome  # no slot, no hit
        self.gate.acquire("acct", priority=priority)
        self.hits += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return Sent(outcome)

    def send_sms(self, destination: str, text: str, *, priority: str, **_: Any) -> Sent:
        return self._hit(priority)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str, clock: FakeClock) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix), clock=clock)


def accept(ledger: Ledger, priority: str, validity_s: float | None = None) -> str:
    record = MessageRecord(
        channel="sms",
        destination="6281234567890",
        priority=priority,
        payload={"destination": "6281234567890", "text": "hello"},
        validity_s=validity_s,
    )
    return ledger.create(record)[0]


def run_to_the_end(
    ledger: Ledger, clock: FakeClock, mid: str, client: ScriptedClient, max_runs: int = 50
) -> tuple[Outcome, int]:
    """Play task and beat until the message is no longer waiting for a retry."""
    runs = 0
    released: list[str] = []

    def enqueue(record: MessageRecord) -> None:
        released.append(record.id)

    while True:
        outcome = deliver(mid, ledger=ledger, client=client, rules=RULES)  # type: ignore[arg-type]
        runs += 1
        if outcome.retry_at is None or runs >= max_runs:
            return outcome, runs
        assert ledger.get(mid).state is S.ACCEPTED
        released.clear()
        assert release_due(ledger, now=outcome.retry_at - 0.001, enqueue=enqueue).released == 0
        clock.now = outcome.retry_at
        release_due(ledger, now=clock.now, enqueue=enqueue)
        assert released == [mid]  # beat hands it back exactly when due


@pytest.mark.parametrize(
    ("priority", "error"),
    list(itertools.product(PRIORITIES, RETRIED)),
    ids=[f"{p}-{type(e).__name__}" for p, e in itertools.product(PRIORITIES, RETRIED)],
)
def test_delivery_failing_for_ever_ends_failed_with_the_last_reason_after_its_budget(
    ledger: Ledger, clock: FakeClock, priority: str, error: Exception
) -> None:
    mid = accept(ledger, priority)  # no validity: only the budget can end it
    client = ScriptedClient(error)

    outcome, runs = run_to_the_end(ledger, clock, mid, client)

    budget = RULES.budget(priority)
    record = ledger.get(mid)
    assert outcome.state is record.state is S.FAILED
    assert runs == record.attempts == budget.max_attempts
    assert client.hits == (0 if isinstance(error, GateUnavailable) else budget.max_attempts)
    assert record.error is not None
    assert record.error.startswith(f"{type(error).__name__}: {error}")
    assert f"gave up after {budget.max_attempts} attempt(s)" in record.error
    assert ledger.due_retries(clock.now + 1e6, 10) == []  # nothing left scheduled


@pytest.mark.parametrize("priority", PRIORITIES)
def test_delivery_a_transient_failure_then_success_ends_sent(
    ledger: Ledger, clock: FakeClock, priority: str
) -> None:
    mid = accept(ledger, priority)
    client = ScriptedClient(TransientError("HTTP 503"), RateLimited("HTTP 429"), "REF-7")

    outcome, runs = run_to_the_end(ledger, clock, mid, client)

    record = ledger.get(mid)
    assert (outcome.state, record.state, record.ref_no, runs) == (S.SENT, S.SENT, "REF-7", 3)


def test_delivery_otp_whose_retry_would_come_past_its_validity_ends_expired(
    ledger: Ledger, clock: FakeClock
) -> None:
    # A validity shorter than the first backoff ceiling: some retry must land past it.
    mid = accept(ledger, "otp", validity_s=0.01)
    client = ScriptedClient(TransientError("HTTP 503 service unavailable"))

    outcome, _ = run_to_the_end(ledger, clock, mid, client)

    record = ledger.get(mid)
    assert outcome.state is record.state is S.EXPIRED
    assert record.error is not None
    assert record.error.startswith("Expired: not sent within its validity of 0.01 s")
    assert "TransientError: HTTP 503 service unavailable" in record.error


def test_delivery_otp_queued_past_its_validity_is_expired_by_the_claim_without_a_hit(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger, "otp", validity_s=300)
    clock.now = T0 + 301  # the queue was stuck behind an outage
    client = ScriptedClient("REF-LATE")

    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    assert outcome.state is S.EXPIRED and client.hits == 0
    assert ledger.get(mid).error == "Expired: not sent within its validity of 300 s"


class SlowTurnClient(ScriptedClient):
    """Its pacing turn comes only after the clock moved on (a long backlog ahead of it)."""

    def __init__(self, clock: FakeClock, wait_s: float, *outcomes: BaseException | str) -> None:
        super().__init__(*outcomes)
        self.clock = clock
        self.wait_s = wait_s

    def _hit(self, priority: str) -> Sent:
        self.clock.now += self.wait_s
        return super()._hit(priority)


def test_delivery_otp_claimed_in_time_whose_turn_comes_too_late_ends_expired_without_a_hit(
    ledger: Ledger, clock: FakeClock
) -> None:
    mid = accept(ledger, "otp", validity_s=300)
    client = SlowTurnClient(clock, 301, "REF-LATE")

    outcome = deliver(mid, ledger=ledger, client=client)  # type: ignore[arg-type]

    record = ledger.get(mid)
    assert outcome.state is record.state is S.EXPIRED
    assert client.hits == 0  # begin_hit refused: the hit never left
    assert record.error == "Expired: not sent within its validity of 300 s"
