"""Parked status updates: what the provider said about a ``ref_no`` before the ledger knew it.

A delivery-status push can overtake the send task: the provider answers the send, pushes
``D`` a moment later, and the push reaches the callback receiver before the worker has written
``ref_no`` into the record. Such an update is *parked* under its ``ref_no`` (a Redis list with
:data:`~nusaworker.keys.PARKED_TTL_S`) and applied when the record appears:

* the receiver parks, then looks the ``ref_no`` up again and applies at once if it is known
  now (the send finished in between);
* :meth:`nusaworker.ledger.Ledger.mark_sent` applies what is parked right after writing the
  ``ref_no``;
* a housekeeping sweep applies whatever a crash between those steps left behind.

Whichever of the first two runs second sees the other's write, so an update is never left
parked while its record exists. Applying twice is harmless: status moves only go forward.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis

from nusaworker.keys import PARKED_TTL_S, Keys
from nusaworker.ledger.states import MessageState
from nusaworker.redis_scripts import as_text, lua


@dataclass(frozen=True)
class StatusUpdate:
    """One status update for a record, already translated to a ledger state.

    ``provider_status`` is the provider's code, verbatim; ``at`` when the provider saw it
    (epoch seconds) if it said; ``error`` a reason for a failed state.
    """

    state: MessageState
    provider_status: str | None = None
    at: float | None = None
    error: str | None = None

    def to_json(self) -> str:
        """The update as one JSON line (how it is parked)."""
        return json.dumps({**asdict(self), "state": self.state.value}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> StatusUpdate:
        """Rebuild an update from :meth:`to_json` output."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            state=MessageState(data["state"]),
            provider_status=data.get("provider_status"),
            at=data.get("at"),
            error=data.get("error"),
        )


class ParkedUpdates:
    """The parked updates of every ``ref_no``, in Redis (see the module docstring)."""

    def __init__(
        self, redis_client: redis.Redis, *, keys: Keys, clock: Callable[[], float]
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self._unpark = redis_client.register_script(lua("nusaworker.ledger", "unpark"))

    def park(self, ref_no: str, update: StatusUpdate) -> None:
        """Append ``update`` to what is parked under ``ref_no``; the list's TTL starts again."""
        key = self.keys.parked(ref_no)
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(key, update.to_json())
        pipe.expire(key, PARKED_TTL_S)
        pipe.zadd(self.keys.parked_index, {ref_no: self.clock()}, nx=True)
        pipe.execute()

    def peek(self, ref_no: str) -> list[StatusUpdate]:
        """What is parked under ``ref_no``, oldest first (nothing is removed)."""
        items = self.redis.lrange(self.keys.parked(ref_no), 0, -1)
        return [StatusUpdate.from_json(item) for item in items]

    def discard(self, ref_no: str, count: int) -> int:
        """Drop the ``count`` oldest updates (the ones applied); how many are left."""
        if count <= 0:
            return int(self.redis.llen(self.keys.parked(ref_no)))
        left = self._unpark(
            keys=[self.keys.parked(ref_no), self.keys.parked_index], args=[count, ref_no]
        )
        return int(left)

    def refs(self, limit: int) -> list[str]:
        """Up to ``limit`` ref_nos with parked updates (a full scan, in no particular order)."""
        found: list[str] = []
        for ref_no, _score in self.redis.zscan_iter(self.keys.parked_index, count=500):
            found.append(as_text(ref_no))
            if len(found) >= limit:
                break
        return found

    def forget_expired(self, limit: int = 1000) -> int:
        """Drop index entries whose lists Redis has expired; how many were dropped.

        Only entries parked longer than the TTL can have lost their list (a later push
        refreshes the list's TTL, not the entry's score, so those are kept and re-scored).
        """
        now = self.clock()
        old = self.redis.zrangebyscore(
            self.keys.parked_index, "-inf", now - PARKED_TTL_S, start=0, num=limit
        )
        refs = [as_text(r) for r in old]
        if not refs:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for ref_no in refs:
            pipe.exists(self.keys.parked(ref_no))
        alive = pipe.execute()
        gone = [ref for ref, exists in zip(refs, alive, strict=True) if not exists]
        kept = {ref: now for ref, exists in zip(refs, alive, strict=True) if exists}
        pipe = self.redis.pipeline(transaction=False)
        if gone:
            pipe.zrem(self.keys.parked_index, *gone)
        if kept:
            pipe.zadd(self.keys.parked_index, kept, xx=True)
        pipe.execute()
        return len(gone)

    def count(self) -> int:
        """How many ref_nos have parked updates."""
        return int(self.redis.zcard(self.keys.parked_index))
