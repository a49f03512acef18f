"""Held records: ``accepted`` records set aside while their channel is paused.

When a channel's circuit breaker is open (credit ran out, the key was refused — see
:mod:`nusaworker.credit`), a send task does not claim its record: it *holds* it. The record
stays ``accepted`` (nothing is failed for a pause), its accepted-index score moves to
``retry_at`` (so the replay sweep leaves it alone until then), and its id joins a set that the
resume drains to re-enqueue. Holding happens only while a guard key (the open breaker) exists,
in the same atomic step, so a record is never held after the resume drained the set.

The ledger knows nothing of breakers: the caller names the set and the guard key.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import redis

from nusaworker.keys import Keys
from nusaworker.ledger.errors import RecordNotFound
from nusaworker.ledger.record import describe_error
from nusaworker.redis_scripts import as_text, lua


class HoldOutcome(StrEnum):
    """What :meth:`HeldRecords.hold` did."""

    HELD = "held"
    NOT_ACCEPTED = "not_accepted"  # the record is elsewhere (claimed, sent …): nothing changed
    UNGUARDED = "unguarded"  # the guard key is gone (the channel resumed): nothing changed


class HeldRecords:
    """Holds ``accepted`` records in a named set, and hands their ids back."""

    def __init__(
        self, redis_client: redis.Redis, *, keys: Keys, clock: Callable[[], float]
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self._hold = redis_client.register_script(lua("nusaworker.ledger", "hold"))

    def hold(
        self,
        message_id: str,
        *,
        retry_at: float,
        reason: BaseException | str,
        into: str,
        guard: str,
    ) -> HoldOutcome:
        """Hold the record in set ``into`` until ``retry_at``, if it is ``accepted`` and
        ``guard`` exists; see :class:`HoldOutcome`. Raises :class:`RecordNotFound`."""
        verdict, _ = self._hold(
            keys=[self.keys.message(message_id), self.keys.accepted_index, into, guard],
            args=[message_id, repr(float(retry_at)), describe_error(reason), repr(self.clock())],
        )
        if as_text(verdict) == "missing":
            raise RecordNotFound(message_id)
        return HoldOutcome(as_text(verdict))

    def take(self, into: str, count: int) -> list[str]:
        """Remove and return up to ``count`` ids from the set ``into`` (in no order)."""
        found = self.redis.spop(into, count)
        return [as_text(i) for i in (found or [])]

    def put_back(self, into: str, message_ids: list[str]) -> None:
        """Return ids to the set (a drain that could not re-enqueue them)."""
        if message_ids:
            self.redis.sadd(into, *message_ids)

    def retry_at(self, message_id: str) -> float | None:
        """When an ``accepted`` record is eligible again (its accepted-index score), if it is."""
        score = self.redis.zscore(self.keys.accepted_index, message_id)
        return None if score is None else float(score)
