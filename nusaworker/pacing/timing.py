"""The time arithmetic of the pacing gate, as pure functions (no Redis, no real clock).

Redis hands out slots on its own clock (``TIME``, µs); a worker waits on its local
``time.monotonic()``. This module converts one into the other, decides whether a worker that
woke up late may still fire, says how long a refused caller sleeps, and sleeps precisely.

Why a late worker must not fire
-------------------------------
Slots are ``step = min_interval + safety_margin`` apart on the server's clock. Where a slot
start lies on the local clock is known only within the bounds of the clock offset
(:mod:`nusaworker.pacing.clocksync`): somewhere in ``[earliest, latest]``.

* A worker sleeps to ``latest`` (:attr:`Deadline.latest`), so it never fires before its slot
  has started.
* On waking it bounds how late it is against ``earliest`` (:func:`lateness_s`: its oversleep
  plus the width of the offset bounds). It fires only when that bound is within
  ``late_tolerance``; otherwise it abandons the slot and reserves a fresh one. If nobody has
  reserved after the abandoned slot yet, the script gives it back first and the fresh slot
  starts now: still at least a step after the slot before (the late worker never fired in
  between), and the next slot a step after it. Otherwise the abandoned slot stays unused.

Two consecutive slot holders A and B therefore fire at ``t_A ∈ [s_A, s_A + tol]`` and
``t_B ≥ s_B = s_A + step``, so ``t_B - t_A ≥ step - tol = min_interval + (margin - tol)``.
With ``tol ≤ margin`` the gap never drops below ``min_interval``; the rest of the margin
(``margin - tol``) absorbs what happens after the gate returns (the thread being descheduled
before the request leaves, network jitter on the way to the provider).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nusaworker.backoff import jittered
from nusaworker.pacing.clocksync import OffsetBounds
from nusaworker.types import Priority

# How far ahead of now each priority may reserve, in slots (multiples of the step).
# bulk may only take a slot starting within half a slot of now, so while bulk drains the
# reserved tail stays at most 1.5 slots ahead; normal may go one slot further (it overtakes
# bulk); otp is never refused and takes the next slot after the tail: at most ~2.5 slots of
# waiting, and ~1.5 while only bulk drains. The half slots are deliberate: a refused caller
# comes back when the tail is exactly its horizon ahead, i.e. half-way between two firing
# moments, so the herd of refused callers never competes for the CPU with a worker that is
# about to fire; and while bulk drains, the slot after a worker's is reserved only half a
# slot after that worker's slot started, so a worker that wakes up a few ms late can still
# give its slot back instead of wasting it.
DEFAULT_HORIZONS: Mapping[Priority, float] = {"bulk": 0.5, "normal": 1.5, "otp": math.inf}

# The last stretch before a deadline is spent yielding in a loop rather than in one sleep:
# time.sleep overshoots by tens of µs, a yield loop does not. Kept short on purpose: measured
# on a 2-core box with a busy loop per core, a 4 ms spin absorbed the scheduler's late
# wake-ups (far fewer abandoned slots) but a thread that has been spinning for ms is often
# preempted right after the gate returns, *after* the lateness check: 8 gaps below 50 ms in
# 10 s, against none with 0.5 ms. A freshly woken thread is rarely preempted at once.
SPIN_S = 0.0005


@dataclass(frozen=True)
class Reply:
    """One answer of the reservation script, with the local times bracketing the round trip."""

    granted: bool
    slot_start_us: int
    server_now_us: int
    wait_us: int
    tail_us: int
    """The account's tail after the call; for a grant, the token that gives the slot back."""
    released: bool
    """Whether the slot named by the caller's release token was given back."""
    sent_at: float
    received_at: float


@dataclass(frozen=True)
class Deadline:
    """Where a server-clock slot start lies on the local monotonic clock."""

    earliest: float
    latest: float


def horizon_us(priority: Priority, horizons: Mapping[Priority, float], step_us: int) -> int:
    """The reservation horizon of ``priority`` in µs, or ``-1`` for "no limit".

    ``horizons`` is in slots; a missing priority falls back to :data:`DEFAULT_HORIZONS`.
    """
    slots = horizons.get(priority, DEFAULT_HORIZONS[priority])
    if math.isinf(slots):
        return -1
    return max(0, round(slots * step_us))


def local_deadline(slot_start_us: int, offset: OffsetBounds) -> Deadline:
    """Convert a server-clock slot start to the local clock, given the offset bounds."""
    start = slot_start_us / 1_000_000
    return Deadline(earliest=start - offset.high, latest=start - offset.low)


def lateness_s(woke_at: float, deadline: Deadline) -> float:
    """An upper bound of how long after its slot started a worker waking at ``woke_at`` fires."""
    return max(0.0, woke_at - deadline.earliest)


def may_fire(lateness: float, tolerance_s: float) -> bool:
    """Whether a worker this late may still fire; if not it must reserve a fresh slot."""
    return lateness <= tolerance_s


def refusal_sleep_s(wait_us: int, jitter_s: float, unit_random: float) -> float:
    """How long a refused caller sleeps: until the tail is within its horizon, plus jitter.

    ``unit_random`` in ``[0, 1)`` spreads callers that were refused together, so they do not
    all come back in the same instant.
    """
    return jittered(max(0, wait_us) / 1_000_000, spread=jitter_s, unit=unit_random)


def sleep_until(
    deadline: float,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    spin_s: float = SPIN_S,
) -> float:
    """Sleep until ``clock() >= deadline`` and return the time of waking.

    Sleeps all but the last ``spin_s`` in one call, then yields (``sleep(0)``) until the
    deadline, so the wake-up is neither early nor late by a sleep's overshoot.
    """
    while True:
        now = clock()
        remaining = deadline - now
        if remaining <= 0:
            return now
        sleep(remaining - spin_s if remaining > spin_s else 0)
