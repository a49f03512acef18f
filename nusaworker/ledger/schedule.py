"""Time in the ledger: retries that wait for their turn, and validities that run out.

A mixin of :class:`nusaworker.ledger.Ledger`, kept apart so that the ledger module stays about
the claim protocol and the state moves. The ledger owns time; the broker only ever holds work
that may run now::

    retry_later ──▶ accepted, on the retry index (score: retry_at) ──▶ beat, once due: enqueue
    create with validity_s ──▶ expiry index (score: expires_at) ──▶ beat, once due: expired
                                                                    (if still waiting)

Both indexes are hints, never the truth: whoever reads one checks the record's state, and an
id whose record moved on is simply dropped. That is what lets :meth:`Schedule.retry_later`
write the index before the release without a transaction: in every interleaving the record is
either found (and checked) or still ``sending`` (and left for the next look).

A retried record also keeps its accepted-index score at ``retry_at``, so the replay sweep
(:meth:`Ledger.stuck_accepted`) leaves it alone until then and catches it, late, should every
release job miss it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from nusaworker.keys import Keys
from nusaworker.ledger.errors import Fenced
from nusaworker.ledger.record import describe_error
from nusaworker.ledger.states import MessageState
from nusaworker.redis_scripts import as_text


def expiry_reason(validity_s: float | None) -> str:
    """The ``error`` of a record that was not sent within its validity."""
    if validity_s is None:
        return "Expired: not sent within its validity"
    return f"Expired: not sent within its validity of {validity_s:g} s"


class Schedule:
    """Retry and expiry indexes, and the moves that use them; mixed into :class:`Ledger`."""

    redis: redis.Redis
    keys: Keys
    clock: Callable[[], float]

    # Provided by Ledger.
    def release(
        self,
        message_id: str,
        token: str,
        error: BaseException | str,
        *,
        retry_at: float | None = None,
    ) -> None:
        raise NotImplementedError

    def _run_transition(
        self,
        message_id: str,
        target: MessageState,
        allowed_from: Iterable[MessageState],
        *,
        fields: dict[str, Any],
        token: str | None = None,
        delete: Sequence[str] = (),
        score: float | None = None,
        ref_no: str | None = None,
    ) -> tuple[str, str]:
        raise NotImplementedError

    # -- retries -------------------------------------------------------------------------------

    def retry_later(
        self, message_id: str, token: str, error: BaseException | str, *, retry_at: float
    ) -> None:
        """Release the claim for a retry at ``retry_at``: ``sending → accepted``, on the retry
        index, where beat's release job finds it once due.

        Raises like :meth:`Ledger.release` (:class:`Fenced`, :class:`IllegalTransition`); the
        index entry written first is then dropped by the job when it finds the record elsewhere.
        """
        self.redis.zadd(self.keys.retry_index, {message_id: retry_at})
        self.release(message_id, token, error, retry_at=retry_at)

    def schedule_retry(self, message_id: str, at: float) -> None:
        """Put an ``accepted`` record (back) on the retry index, due at ``at``."""
        self.redis.zadd(self.keys.retry_index, {message_id: at})

    def due_retries(self, now: float, limit: int) -> list[str]:
        """Ids on the retry index due at ``now``, earliest first (their records unchecked)."""
        ids = self.redis.zrangebyscore(self.keys.retry_index, "-inf", now, start=0, num=limit)
        return [as_text(i) for i in ids]

    def take_retry(self, message_id: str) -> bool:
        """Take an id off the retry index; ``False`` if another job took it first."""
        return bool(self.redis.zrem(self.keys.retry_index, message_id))

    # -- fallbacks -----------------------------------------------------------------------------

    def schedule_fallback(self, message_id: str, at: float) -> None:
        """Put a record with a fallback on the fallback index, due at ``at``."""
        self.redis.zadd(self.keys.fallback_index, {message_id: at})

    def due_fallbacks(self, now: float, limit: int) -> list[str]:
        """Ids on the fallback index due at ``now``, earliest first (records unchecked)."""
        ids = self.redis.zrangebyscore(self.keys.fallback_index, "-inf", now, start=0, num=limit)
        return [as_text(i) for i in ids]

    def take_fallback(self, message_id: str) -> bool:
        """Take an id off the fallback index; ``False`` if another run took it first."""
        return bool(self.redis.zrem(self.keys.fallback_index, message_id))

    def note_fallback(self, message_id: str, fallback_id: str) -> None:
        """Record on a message the id of the fallback message sent for it."""
        self.redis.hset(self.keys.message(message_id), "fallback_id", fallback_id)

    # -- validity ------------------------------------------------------------------------------

    def expire(
        self,
        message_id: str,
        *,
        from_state: MessageState = MessageState.ACCEPTED,
        token: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move a record that was not sent within its validity to ``expired``.

        From ``accepted`` (waiting, held or scheduled), or from ``sending`` with the claim's
        ``token`` (its hit failed and a retry would come too late) or, without a token, once a
        claim fenced the holder out. Whether the validity has passed is the caller's judgement
        (it read ``expires_at``); this is the atomic move. ``reason`` defaults to
        :func:`expiry_reason` of the record's validity. Returns whether the record moved;
        raises :class:`Fenced` on a stale ``token``.
        """
        now = self.clock()
        if reason is None:
            raw = self.redis.hget(self.keys.message(message_id), "validity_s")
            reason = expiry_reason(None if raw is None else float(as_text(raw)))
        verdict, _ = self._run_transition(
            message_id,
            MessageState.EXPIRED,
            [from_state],
            token=token,
            fields={"error": describe_error(reason), "updated_at": now, "final_at": now},
            delete=["token", "hit_started_at"],
        )
        if verdict == "fenced":
            raise Fenced(message_id, "expire")
        if verdict != "ok":
            return False
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self.keys.expiry_index, message_id)
        pipe.zrem(self.keys.retry_index, message_id)
        pipe.execute()
        return True

    def due_expiries(self, now: float, limit: int) -> list[str]:
        """Ids on the expiry index whose validity ended by ``now``, earliest first."""
        ids = self.redis.zrangebyscore(self.keys.expiry_index, "-inf", now, start=0, num=limit)
        return [as_text(i) for i in ids]

    def forget_expiry(self, message_ids: Iterable[str]) -> None:
        """Drop ids from the expiry index (their records are no longer waiting)."""
        ids = list(message_ids)
        if ids:
            self.redis.zrem(self.keys.expiry_index, *ids)
