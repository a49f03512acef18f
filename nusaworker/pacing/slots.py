"""The client side of one acquisition: ask, sleep when refused, wait for the slot, check lateness.

Kept apart from Redis: :func:`take_slot` is handed a ``reserve`` callable (one round trip to
the reservation script) and the clock and sleep to use, so the whole loop can be tested with a
fake clock and a fake server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nusaworker.pacing.clocksync import ClockSync
from nusaworker.pacing.timing import (
    Reply,
    lateness_s,
    local_deadline,
    may_fire,
    refusal_sleep_s,
    sleep_until,
)


@dataclass(frozen=True)
class Acquisition:
    """What one acquisition took; returned by :meth:`RedisGate.acquire_slot`."""

    slot_wait_s: float
    """How far ahead of the server's now the granted slot started (the script's answer)."""
    waited_s: float
    """Total time spent in the gate, refusals and re-acquisitions included."""
    refusals: int
    """How many times the script refused this caller (tail beyond its horizon)."""
    late_reacquires: int
    """How many granted slots were abandoned because the caller woke up too late."""
    given_back: int
    """How many of those were given back (nobody had reserved after them yet)."""
    lateness_s: float
    """Upper bound of how long after its slot started this hit fires."""
    checked_at: float
    """Local clock time of the last lateness check; whatever delays the hit after it is
    covered only by what the tolerance leaves of the safety margin."""


def take_slot(
    reserve: Callable[[int], Reply],
    *,
    clock_sync: ClockSync,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    tolerance_s: float,
    jitter_s: float,
    rng: Callable[[], float],
    on_grant: Callable[[], None] | None = None,
) -> Acquisition:
    """Loop until a granted slot can be fired on time, and return when it may be fired.

    Every question is one call of ``reserve(release_token)``. A refusal costs a sleep computed
    from the script's answer (never a spin). A slot woken up to too late is abandoned (see
    :mod:`nusaworker.pacing.timing` for why) and the next question carries its release token:
    if nobody reserved after it yet — the usual case, as the next bulk caller only reserves
    half a slot after this one started — the slot is given back and the caller gets one
    starting now, so a late wake-up costs a round trip rather than a whole slot.
    ``clock_sync`` converts the server's slot starts to ``clock`` and is shared by every
    acquisition of one process. ``on_grant`` runs after every grant, before waiting for the
    slot to start; whatever it raises propagates (the slot then stays unused).
    """
    started = clock()
    refusals = 0
    late_reacquires = 0
    given_back = 0
    release_token = 0
    while True:
        reply = reserve(release_token)
        release_token = 0
        given_back += reply.released
        # Refusals carry the server's clock too: every reply narrows the offset.
        offset = clock_sync.observe(reply.server_now_us, reply.sent_at, reply.received_at)
        if not reply.granted:
            refusals += 1
            sleep(refusal_sleep_s(reply.wait_us, jitter_s, rng()))
            continue
        if on_grant is not None:
            on_grant()
        deadline = local_deadline(reply.slot_start_us, offset)
        woke_at = sleep_until(deadline.latest, clock=clock, sleep=sleep)
        late_by = lateness_s(woke_at, deadline)
        if may_fire(late_by, tolerance_s):
            return Acquisition(
                slot_wait_s=max(0, reply.slot_start_us - reply.server_now_us) / 1_000_000,
                waited_s=woke_at - started,
                refusals=refusals,
                late_reacquires=late_reacquires,
                given_back=given_back,
                lateness_s=late_by,
                checked_at=woke_at,
            )
        late_reacquires += 1
        release_token = reply.tail_us
