"""Every Redis key nusaworker writes, and how long each lives — in one place.

All keys hang under one prefix (default ``nw:``) so that a deployment, a test or a benchmark
can share a Redis server with others and clean up exactly what it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "nw:"

# The pacing key only holds "the next free slot" of an account. An absent key means "free
# now", so it may expire as soon as its slot is in the past; a minute is ample and keeps a
# fleet that talked to many accounts from leaving keys behind.
PACE_TTL_S = 60

# A message record lives as long as it is in flight; once it reaches a final state it stays
# readable for a month (support questions, reports), then Redis drops it.
RECORD_FINAL_TTL_S = 30 * 24 * 3600

# An idempotency key answers "already accepted" for a week: longer than any backend retry
# of a producer call, short enough not to grow without bound.
IDEMPOTENCY_TTL_S = 7 * 24 * 3600

# ref_no → message id, for callbacks; callbacks can arrive days after the send.
REF_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def pace(self, account: str) -> str:
        """String: the next free slot of ``account`` (µs, Redis server clock)."""
        return f"{self.prefix}pace:{account}"

    def message(self, message_id: str) -> str:
        """Hash: one message record."""
        return f"{self.prefix}msg:{message_id}"

    def idempotency(self, key: str) -> str:
        """String: message id accepted under a producer's idempotency key."""
        return f"{self.prefix}idem:{key}"

    def ref(self, ref_no: str) -> str:
        """String: message id that the provider knows as ``ref_no``."""
        return f"{self.prefix}ref:{ref_no}"

    @property
    def accepted_index(self) -> str:
        """Sorted set: ids in ``accepted``, scored by when each became (again) eligible to send."""
        return f"{self.prefix}idx:accepted"

    @property
    def sent_index(self) -> str:
        """Sorted set: ids in ``sent``, scored by the time their next status poll is due."""
        return f"{self.prefix}idx:sent"
