"""When a message whose hit failed is tried again, and when it is given up: the long retries.

Two retry layers, never multiplied:

* inside the provider client (tenacity, :mod:`nusaworker.providers.retry`): a few attempts
  within seconds, each taking its own pacing slot — a dropped connection, one 503;
* here, in the ledger: a *delivery attempt* (one claim of the record, with the client's quick
  retries inside it) that still ended in a transient error goes back to ``accepted`` with a
  ``retry_at``; beat's release job enqueues it once due (:mod:`nusaworker.tracking.release`).

Both wait with the one backoff formula, :func:`nusaworker.backoff.backoff`
(exponential, full jitter, capped). Every message has a retry budget — attempts and age,
per priority (:class:`RetryBudget`) — and may have a validity (``expires_at``); past either it
is final, never retried for ever. :func:`decide` is the whole decision, pure::

    transient failure of attempt n ─┬▶ validity over already?           → expired
                                    ├▶ n ≥ max_attempts?                → failed, last reason
                                    │  retry_at = now + backoff(n)
                                    ├▶ retry_at ≥ expires_at?           → expired
                                    ├▶ retry_at - accepted > max_age_s? → failed, last reason
                                    └▶ otherwise                         → accepted, due retry_at

No retry goes back through a Celery countdown, not even a short one: the client has just made
its quick retries, so a message that still failed gains nothing from an instant retry, and
waiting for the release job's next tick (a second at most) keeps every delay in the ledger,
where the fleet can see it and a dead worker cannot lose it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nusaworker.backoff import backoff
from nusaworker.ledger import MessageState
from nusaworker.ledger.schedule import expiry_reason
from nusaworker.settings import (
    RETRY_BACKOFF_BASE_S,
    RETRY_MAX_AGE_S,
    RETRY_MAX_ATTEMPTS,
    VALIDITY_S,
    Settings,
)
from nusaworker.types import PRIORITIES

DEFAULT_BACKOFF_CAP_S = 1800.0


@dataclass(frozen=True)
class RetryBudget:
    """How much retrying one priority's messages get: attempts in all (the first included),
    the age since acceptance beyond which no retry is scheduled, and the backoff between."""

    max_attempts: int
    max_age_s: float
    backoff_base_s: float
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        return backoff(attempt, base=self.backoff_base_s, cap=self.backoff_cap_s, rand=rand)


@dataclass(frozen=True)
class RetryDecision:
    """What to do with a message whose attempt failed transiently.

    ``state`` is ``accepted`` (try again at ``retry_at``), ``failed`` or ``expired``;
    ``reason`` is what the record's ``error`` should say.
    """

    state: MessageState
    reason: str
    retry_at: float | None = None

    @property
    def retries(self) -> bool:
        return self.state is MessageState.ACCEPTED


@dataclass(frozen=True)
class RetryRules:
    """The budgets and default validities of every priority."""

    budgets: Mapping[str, RetryBudget]
    validities: Mapping[str, float]

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryRules:
        return cls._build(
            settings.retry_max_attempts,
            settings.retry_max_age_s,
            settings.retry_backoff_base_s,
            settings.retry_backoff_cap_s,
            settings.validity_s,
        )

    @classmethod
    def defaults(cls) -> RetryRules:
        """The rules of default settings (without reading the environment)."""
        return cls._build(
            RETRY_MAX_ATTEMPTS,
            RETRY_MAX_AGE_S,
            RETRY_BACKOFF_BASE_S,
            DEFAULT_BACKOFF_CAP_S,
            VALIDITY_S,
        )

    @classmethod
    def _build(
        cls,
        attempts: Mapping[str, int],
        ages: Mapping[str, float],
        bases: Mapping[str, float],
        cap: float,
        validities: Mapping[str, float],
    ) -> RetryRules:
        budgets: dict[str, RetryBudget] = {
            p: RetryBudget(attempts[p], ages[p], bases[p], cap) for p in PRIORITIES
        }
        return cls(budgets=budgets, validities=dict(validities))

    def budget(self, priority: str) -> RetryBudget:
        """The retry budget of ``priority`` messages."""
        return self.budgets[priority]

    def validity(self, priority: str) -> float | None:
        """The validity a ``priority`` message gets when its producer gives none (``None``:
        no validity)."""
        value = self.validities.get(priority) or 0.0
        return value if value > 0 else None


def decide(
    budget: RetryBudget,
    *,
    attempts: int,
    error: str,
    created_at: float,
    now: float,
    expires_at: float | None = None,
    validity_s: float | None = None,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """The fate of a message whose attempt number ``attempts`` failed transiently with
    ``error`` (its ``"Class: message"`` text); see the module docstring for the table."""
    if expires_at is not None and now >= expires_at:
        return _expired(error, validity_s)
    if attempts >= budget.max_attempts:
        return _failed(error, attempts, created_at, now, budget)
    retry_at = now + budget.delay(attempts, rand)
    if expires_at is not None and retry_at >= expires_at:
        return _expired(error, validity_s)
    if retry_at - created_at > budget.max_age_s:
        return _failed(error, attempts, created_at, now, budget)
    return RetryDecision(MessageState.ACCEPTED, error, retry_at)


def _expired(error: str, validity_s: float | None) -> RetryDecision:
    return RetryDecision(MessageState.EXPIRED, f"{expiry_reason(validity_s)}; last error: {error}")


def _failed(
    error: str, attempts: int, created_at: float, now: float, budget: RetryBudget
) -> RetryDecision:
    reason = (
        f"{error} (gave up after {attempts} attempt(s) over {max(0.0, now - created_at):.0f} s; "
        f"retry budget {budget.max_attempts} attempts within {budget.max_age_s:g} s)"
    )
    return RetryDecision(MessageState.FAILED, reason)
