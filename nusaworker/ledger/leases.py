"""Leases: a claim is valid while its holder heartbeats; what a dead holder held comes back.

Who is alive
    Every worker process that holds broker messages has an identity unique per boot
    (:mod:`nusaworker.liveness` makes it: node name, pid, a random nonce). It rewrites its
    heartbeat key (:meth:`Keys.heartbeat`, TTL ``heartbeat_ttl_s``) every
    ``heartbeat_interval_s`` and registers in the holders set. A holder that is registered, or
    named by a lease, and whose heartbeat key is gone is dead.

What a holder holds
    * its claims: a record claimed with ``holder=`` (:meth:`Ledger.claim`) is put on the lease
      index (id → holder) in the claim's atomic step, and every move out of ``sending`` (release
      included) takes it off in its own. A running task keeps its claim alive by doing nothing:
      its process heartbeats, and that is the lease.
    * its received ``send`` tasks (:meth:`Keys.received`, task id → message id), written when
      the worker takes a task from the broker and dropped when the task ends: prefetched tasks
      not started yet, which the broker itself would hand out again only after its visibility
      timeout.

What beat does with a dead holder's claims (:func:`lease_action`, the decision table)::

    not sending any more, or held by another holder → the stale index entry goes
    sending, hit not started                        → accepted, enqueued again at once
    sending, hit started, the in-doubt policy       → OTP (otp_resend_in_doubt): accepted,
                                                      enqueued again; others, and an OTP past
                                                      its validity (a late code is no use):
                                                      unknown

— the same policy a redelivered task applies (:mod:`nusaworker.delivery`); its received
records still ``accepted`` and due are enqueued again; then the holder is forgotten. The
executor is :func:`nusaworker.ledger.recovery.resolve_dead_holders`.

Race-free against a holder that was not dead after all: each record is resolved in one atomic
step that checks it is still held by that holder under the token beat read (and, for a give
back, that the hit has not started meanwhile and the heartbeat is still absent). Giving back
drops the token, so the old holder's ``begin_hit`` and ``mark_sent`` are fenced; ``unknown``
keeps it, so a late answer to the hit can still be recorded (``unknown → sent``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import redis

from nusaworker.keys import BEAT_HEARTBEAT_TTL_S, Keys
from nusaworker.ledger.journal import log_move
from nusaworker.ledger.states import MessageState
from nusaworker.redis_scripts import as_text, lua

#: The error of a record whose hit may have reached the provider when its worker was lost.
IN_DOUBT_ERROR = "AmbiguousOutcome: worker lost after the provider hit started"
#: The error of a record given back because its worker died before its hit.
WORKER_LOST_ERROR = "WorkerLost: its worker died before the provider hit; sent again"
#: The error of an in-doubt record resent under the OTP policy.
RESENT_IN_DOUBT_ERROR = IN_DOUBT_ERROR + "; resent (OTP policy)"
#: The error of an in-doubt record the policy would resend, were it not past its validity.
LATE_IN_DOUBT_ERROR = IN_DOUBT_ERROR + "; not resent: past its validity"


def resend_in_doubt(priority: str, otp_resend_in_doubt: bool) -> bool:
    """Whether a message whose hit may have reached the provider is sent again.

    Only OTPs, and only when the setting is on: a duplicate code beats a lost one, while a
    duplicate marketing message is worse than a missing one.
    """
    return priority == "otp" and otp_resend_in_doubt


class LeaseAction(StrEnum):
    """What beat does with one record a dead holder had claimed."""

    #: The hit never started: back to ``accepted`` and enqueued again; nobody sent it.
    REQUEUE = "requeue"
    #: The hit started, the policy resends (OTP): back to ``accepted`` and enqueued again.
    RESEND = "resend"
    #: The hit started, the policy does not resend: ``unknown``, never sent again.
    MARK_UNKNOWN = "mark_unknown"
    #: The record moved on (or another holder has it): only its stale index entry goes.
    FORGET = "forget"


def lease_action(
    state: MessageState | str,
    *,
    held_by_dead: bool,
    hit_started: bool,
    has_ref_no: bool,
    priority: str,
    otp_resend_in_doubt: bool,
    past_validity: bool = False,
) -> LeaseAction:
    """The decision table of the module docstring, for one record of a dead holder.

    ``held_by_dead``: the record names the dead holder as its holder. ``past_validity``: the
    record has a validity and it is over (a record not started is given back all the same:
    its next claim expires it).
    """
    if MessageState(state) is not MessageState.SENDING or not held_by_dead or has_ref_no:
        return LeaseAction.FORGET
    if not hit_started:
        return LeaseAction.REQUEUE
    if resend_in_doubt(priority, otp_resend_in_doubt) and not past_validity:
        return LeaseAction.RESEND
    return LeaseAction.MARK_UNKNOWN


class Leases:
    """Heartbeats, the lease index and the received-task indexes under one key prefix."""

    def __init__(self, redis_client: redis.Redis, *, keys: Keys) -> None:
        self.redis = redis_client
        self.keys = keys
        self._requeue = redis_client.register_script(lua("nusaworker.ledger", "requeue_lease"))
        self._forget = redis_client.register_script(lua("nusaworker.ledger", "forget_holder"))

    # -- the holder's side (a worker process) ---------------------------------------------------

    def beat(self, holder: str, ttl_s: float, queues: Iterable[str] = ()) -> None:
        """Say ``holder`` is alive for ``ttl_s`` more seconds (and make it known to beat);
        ``queues``: those it consumes, for ``nusaworker check``."""
        pipe = self.redis.pipeline(transaction=True)
        value = ",".join(sorted(queues)) or "-"
        pipe.set(self.keys.heartbeat(holder), value, px=max(1, round(ttl_s * 1000)))
        pipe.sadd(self.keys.holders, holder)
        pipe.execute()

    def retire(self, holder: str) -> None:
        """A graceful stop: the heartbeat and the received tasks go (the broker gets those
        back when the worker's connection closes). The holder stays registered, so beat
        resolves at once anything it still holds and then forgets it."""
        self.redis.delete(self.keys.heartbeat(holder), self.keys.received(holder))

    def note_received(self, holder: str, task_id: str, message_id: str) -> None:
        """``holder`` took ``send`` task ``task_id`` (of ``message_id``) from the broker."""
        self.redis.hset(self.keys.received(holder), task_id, message_id)

    def drop_received(self, holder: str, task_id: str) -> None:
        """Task ``task_id`` ended (sent, settled, handed back for a retry)."""
        self.redis.hdel(self.keys.received(holder), task_id)

    # -- beat's side ------------------------------------------------------------------------------

    def held(self) -> dict[str, list[str]]:
        """holder → ids of the records the lease index says it holds."""
        found: dict[str, list[str]] = {}
        for message_id, holder in self.redis.hgetall(self.keys.lease_index).items():
            found.setdefault(as_text(holder), []).append(as_text(message_id))
        return found

    def dead(self, also: Iterable[str] = ()) -> list[str]:
        """The registered holders (and those in ``also``) whose heartbeat is gone."""
        candidates = sorted(
            {as_text(h) for h in self.redis.smembers(self.keys.holders)} | set(also)
        )
        pipe = self.redis.pipeline(transaction=False)
        for holder in candidates:
            pipe.exists(self.keys.heartbeat(holder))
        return [h for h, alive in zip(candidates, pipe.execute(), strict=True) if not alive]

    def heartbeats_trustworthy(self, ttl_s: float) -> bool:
        """Whether a missing heartbeat can mean a dead worker: not while Redis has been up for
        less than a heartbeat TTL. A Redis that was down (or restarted) longer than the TTL
        comes back with every heartbeat expired; the live workers write theirs again within an
        interval, and declaring them all dead meanwhile would resend every OTP in doubt."""
        uptime = self.redis.info("server").get("uptime_in_seconds", 0)
        return float(uptime) >= ttl_s

    def live_workers(self) -> dict[str, tuple[str, ...]]:
        """Every holder whose heartbeat is alive → the queues it consumes (two round trips)."""
        holders = sorted(as_text(h) for h in self.redis.smembers(self.keys.holders))
        if not holders:
            return {}
        values = self.redis.mget([self.keys.heartbeat(h) for h in holders])
        return {
            holder: tuple(q for q in as_text(value).split(",") if q and q != "-")
            for holder, value in zip(holders, values, strict=True)
            if value is not None
        }

    # -- beat's own heartbeat ---------------------------------------------------------------------

    def beat_tick(self) -> None:
        """The active beat ticked (see :data:`nusaworker.keys.BEAT_HEARTBEAT_TTL_S`)."""
        self.redis.set(self.keys.beat_heartbeat, "1", px=BEAT_HEARTBEAT_TTL_S * 1000)

    def beat_silence(self) -> float | None:
        """Seconds since the active beat last ticked, on Redis's clock; ``None``: no heartbeat
        (never, or not for a day)."""
        left_ms = int(self.redis.pttl(self.keys.beat_heartbeat))
        if left_ms < 0:
            return None
        return max(0.0, BEAT_HEARTBEAT_TTL_S - left_ms / 1000)

    def is_alive(self, holder: str) -> bool:
        """Whether ``holder``'s heartbeat key exists."""
        return bool(self.redis.exists(self.keys.heartbeat(holder)))

    def received_by_live_holders(self) -> set[str]:
        """Message ids of the ``send`` tasks that live holders received and have not ended."""
        holders = sorted(as_text(h) for h in self.redis.smembers(self.keys.holders))
        pipe = self.redis.pipeline(transaction=False)
        for holder in holders:
            pipe.exists(self.keys.heartbeat(holder))
            pipe.hvals(self.keys.received(holder))
        answers = pipe.execute()
        ids: set[str] = set()
        for alive, values in zip(answers[::2], answers[1::2], strict=True):
            if alive:
                ids.update(as_text(v) for v in values)
        return ids

    def received(self, holder: str) -> list[str]:
        """Message ids of the ``send`` tasks ``holder`` had received and not ended."""
        ids = self.redis.hvals(self.keys.received(holder))
        return sorted({as_text(i) for i in ids})

    def give_back(
        self, message_id: str, holder: str, token: str, *, hit_started: bool, error: str, now: float
    ) -> str:
        """``sending`` → ``accepted`` for a dead holder's record, if unchanged since read.

        Answers ``requeued``, ``alive``, ``moved`` or ``changed`` (see ``requeue_lease.lua``).
        """
        keys = self.keys
        answer = as_text(
            self._requeue(
                keys=[
                    keys.message(message_id),
                    keys.accepted_index,
                    keys.lease_index,
                    keys.heartbeat(holder),
                    keys.state_counts,
                ],
                args=[
                    message_id,
                    holder,
                    token,
                    "1" if hit_started else "0",
                    repr(now),
                    error,
                    keys.campaign_prefix,
                ],
            )
        )
        if answer == "requeued":
            log_move(message_id, MessageState.ACCEPTED, MessageState.SENDING, reason=error)
        return answer

    def drop_stale(self, message_id: str, holder: str) -> None:
        """Drop the index entry of a record the holder no longer holds (or that is gone)."""
        self.give_back(message_id, holder, "", hit_started=False, error="", now=0.0)

    def forget(self, holder: str) -> bool:
        """Forget a dead holder (its received tasks, its registration); ``False`` if alive."""
        keys = self.keys
        return bool(
            int(
                self._forget(
                    keys=[keys.heartbeat(holder), keys.received(holder), keys.holders],
                    args=[holder],
                )
            )
        )
