"""The Redis-backed message ledger: records, idempotent enqueue, claims, indexes.

Every write is one atomic step in Redis (a Lua script from ``lua/``, loaded once per
:class:`Ledger`), so a fleet of workers can race on a record and the ledger, not the broker,
decides who may send. The states and their moves are in :mod:`nusaworker.ledger.states`; the
Lua scripts are handed the allowed moves from there, so the graph lives in one place.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from nusaworker.keys import (
    DEAD_LETTERS_MAXLEN,
    EVENTS_MAXLEN,
    IDEMPOTENCY_TTL_S,
    RECORD_FINAL_TTL_S,
    REF_TTL_S,
    Keys,
)
from nusaworker.ledger.claim import Claim, ClaimOutcome
from nusaworker.ledger.errors import (
    CorruptRecord,
    Fenced,
    IllegalTransition,
    LedgerError,
    RecordNotFound,
)
from nusaworker.ledger.followup import FollowUp
from nusaworker.ledger.journal import log_move
from nusaworker.ledger.parked import ParkedUpdates
from nusaworker.ledger.record import (
    MessageRecord,
    describe_error,
    from_redis_hash,
    to_redis_hash,
    unreadable,
)
from nusaworker.ledger.schedule import Schedule
from nusaworker.ledger.states import EXPIRING_STATES, MessageState, predecessors
from nusaworker.redis_scripts import as_text, lua

DEFAULT_KEYS = Keys()

log = logging.getLogger(__name__)

# States a status update (poll, callback, beat) may move a record into; the others belong to
# the claim protocol (claim, release) and are reached through it only.
_STATUS_TARGETS = frozenset(MessageState) - {MessageState.ACCEPTED, MessageState.SENDING}
# What a final record no longer needs: the claim's bookkeeping (a final record is never claimed
# again, and its late status updates are not fenced). Dropped at the final move: a record then
# costs ~25 % less Redis memory for the month it is kept.
CLAIM_BOOKKEEPING = ("token", "holder", "claimed_at")
# A status update may expire a sent record (its tracking horizon); a record not sent yet is
# expired by its validity only, through the claim protocol (claim, retry decision, beat).
_UNSENT = frozenset({MessageState.ACCEPTED, MessageState.SENDING})


def _lenient_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class Ledger(FollowUp, Schedule):
    """Message records in Redis, and the atomic moves between their states.

    ``keys`` names every key (use ``Keys(prefix=…)`` to share a Redis); ``clock`` gives the
    timestamps written to records (epoch seconds). The client may or may not decode responses.
    Every state change (but a release for retry) is appended to the :attr:`Keys.events`
    stream in the same atomic step, capped at ``events_maxlen`` entries (0: no events).
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys = DEFAULT_KEYS,
        clock: Callable[[], float] = time.time,
        events_maxlen: int = EVENTS_MAXLEN,
        retention_s: float = RECORD_FINAL_TTL_S,
        dead_letters_maxlen: int = DEAD_LETTERS_MAXLEN,
    ) -> None:
        """``retention_s``: how long a record (and its ``ref_no`` link) stays readable once
        it is final (``NUSAWORKER_RECORD_RETENTION_DAYS``); its events were handed on long
        before, its dead letter (if any; at most ``dead_letters_maxlen`` are kept, 0: none)
        goes with it."""
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self.events_maxlen = events_maxlen
        self.dead_letters_maxlen = dead_letters_maxlen
        self.retention_s = max(1, int(retention_s))
        self.parked = ParkedUpdates(redis_client, keys=keys, clock=clock)
        self._note = redis_client.register_script(lua("nusaworker.ledger", "note"))
        self._create = redis_client.register_script(lua("nusaworker.ledger", "create"))
        self._claim = redis_client.register_script(lua("nusaworker.ledger", "claim"))
        self._begin_hit = redis_client.register_script(lua("nusaworker.ledger", "begin_hit"))
        self._hit_refused = redis_client.register_script(lua("nusaworker.ledger", "hit_refused"))
        self._transition = redis_client.register_script(lua("nusaworker.ledger", "transition"))

    # -- records -------------------------------------------------------------------------------

    def create(
        self, record: MessageRecord, *, idempotency_key: str | None = None
    ) -> tuple[str, bool]:
        """Store ``record`` as ``accepted`` unless its idempotency key is already known.

        ``idempotency_key`` (or else ``record.idempotency_key``) is remembered for
        :data:`~nusaworker.keys.IDEMPOTENCY_TTL_S`. Returns ``(id, True)`` when the record was
        written, ``(id of the earlier record, False)`` when the key — or the record id itself —
        was already known; then nothing is written. Race-free: of any number of concurrent
        creates with one key, exactly one writes. A record with ``validity_s`` gets its
        ``expires_at`` (now + validity) and joins the expiry index.
        """
        key = idempotency_key or record.idempotency_key
        now = self.clock()
        # Only what the producer describes is kept; the ledger owns the rest (state, claims…).
        described = record.model_dump(
            include={
                "id",
                "channel",
                "destination",
                "priority",
                "validity_s",
                "fallback",
                "campaign",
            }
        )
        expires_at = None if record.validity_s is None else now + record.validity_s
        fresh = MessageRecord(
            **described,
            payload=record.payload,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )
        script_keys = [
            self.keys.message(fresh.id),
            self.keys.accepted_index,
            self.keys.expiry_index,
            self.keys.state_counts,
        ]
        if key:
            script_keys.append(self.keys.idempotency(key))
        expiry = "" if expires_at is None else repr(expires_at)
        campaign = "" if fresh.campaign is None else self.keys.campaign(fresh.campaign)
        args: list[Any] = [fresh.id, repr(now), IDEMPOTENCY_TTL_S, expiry, campaign]
        for field, value in to_redis_hash(fresh).items():
            args += [field, value]
        message_id, written = self._create(keys=script_keys, args=args)
        if int(written):
            log_move(fresh.id, MessageState.ACCEPTED, None)
        return as_text(message_id), bool(int(written))

    def get(self, message_id: str) -> MessageRecord:
        """The record ``message_id``; raises :class:`RecordNotFound`, and :class:`CorruptRecord`
        for one whose fields cannot be read."""
        data = self.redis.hgetall(self.keys.message(message_id))
        if not data:
            raise RecordNotFound(message_id)
        try:
            return from_redis_hash(data)
        except ValueError as exc:
            raise CorruptRecord(message_id, unreadable(exc)) from None

    def get_many(self, message_ids: Iterable[str]) -> list[MessageRecord]:
        """The records that exist, in the order asked, one round trip; missing ones are left
        out, and so are records that cannot be read (logged): one corrupt record must not stop
        a sweep over all the others (the send task ends it, :mod:`nusaworker.delivery`)."""
        ids = list(message_ids)
        pipe = self.redis.pipeline(transaction=False)
        for message_id in ids:
            pipe.hgetall(self.keys.message(message_id))
        records = []
        for message_id, data in zip(ids, pipe.execute(), strict=True):
            if not data:
                continue
            try:
                records.append(from_redis_hash(data))
            except ValueError as exc:
                log.warning("message %s: record cannot be read (%s)", message_id, unreadable(exc))
        return records

    def fields(self, message_id: str, *names: str) -> dict[str, str | None]:
        """Some fields of a record as stored (text, ``None`` when absent), without reading it
        as a record: what a corrupt record still tells (its state, whether a hit started)."""
        values = self.redis.hmget(self.keys.message(message_id), list(names))
        return {name: _lenient_text(v) for name, v in zip(names, values, strict=True)}

    def states(self, message_ids: Iterable[str]) -> list[str | None]:
        """The state of each record asked for (``None``: no such record); one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for message_id in message_ids:
            pipe.hget(self.keys.message(message_id), "state")
        return [None if state is None else as_text(state) for state in pipe.execute()]

    def id_for_ref(self, ref_no: str) -> str | None:
        """The id of the message the provider knows as ``ref_no``, if the ledger knows it."""
        value = self.redis.get(self.keys.ref(ref_no))
        return None if value is None else as_text(value)

    # -- the claim protocol --------------------------------------------------------------------

    def claim(
        self, message_id: str, *, take_in_doubt: bool = False, holder: str | None = None
    ) -> Claim:
        """Try to take the record for sending; see :class:`ClaimOutcome` for the answers.

        ``accepted`` → ``sending`` with a fresh fencing token, ``attempts`` + 1, off the
        accepted index. A ``sending`` record whose hit never started is taken over (new token).
        A ``sending`` record whose hit started is ``IN_DOUBT``: no token, nothing changes —
        unless ``take_in_doubt`` (the OTP policy), then it is taken over too. A record past
        its validity is never handed out: not sent yet, it is moved to ``expired`` (answer
        ``EXPIRED``); in doubt, it stays so (``IN_DOUBT`` without a token, never resent).

        ``holder`` is the claiming worker's identity (:mod:`nusaworker.liveness`): the claim is
        then a lease, valid while that worker heartbeats, resolved by beat once it stops
        (:mod:`nusaworker.ledger.leases`). Without it the claim is only recovered by a broker
        redelivery. Raises :class:`RecordNotFound`.
        """
        token = secrets.token_hex(16)
        result = self._claim(
            keys=[
                self.keys.message(message_id),
                self.keys.accepted_index,
                self.keys.lease_index,
                self.keys.state_counts,
            ],
            args=[
                message_id,
                token,
                repr(self.clock()),
                "1" if take_in_doubt else "0",
                holder or "",
                self.keys.campaign_prefix,
            ],
        )
        outcome = as_text(result[0])
        if outcome == "missing":
            raise RecordNotFound(message_id)
        if outcome == ClaimOutcome.EXPIRED:
            return self._expire_refused(message_id, MessageState(as_text(result[1])), result)
        if outcome == ClaimOutcome.CLAIMED:
            log_move(message_id, MessageState.SENDING, MessageState.ACCEPTED)
        return Claim(
            outcome=ClaimOutcome(outcome),
            state=MessageState(as_text(result[1])),
            attempts=int(result[2]),
            token=as_text(result[3]) if len(result) > 3 else None,
        )

    def _expire_refused(self, message_id: str, state: MessageState, result: Any) -> Claim:
        """The claim refused a record past its validity (and fenced out any holder): move it
        to ``expired``. Nobody can claim it any more, so the move cannot race a send."""
        moved = self.expire(message_id, from_state=state)
        current = MessageState.EXPIRED if moved else self.get(message_id).state
        return Claim(outcome=ClaimOutcome.EXPIRED, state=current, attempts=int(result[2]))

    def begin_hit(self, message_id: str, token: str, account: str | None = None) -> bool:
        """Mark the provider hit as started; ``False`` means "fenced out: do not send".

        ``account`` (the provider account making the hit) is recorded on the record. A message
        is sent by one account only: while an earlier hit of another account may have reached
        its provider (the record is in doubt), a hit of this one is refused (``False``).

        Call it after the pacing gate granted the slot and right before the HTTP request —
        on every attempt (it is idempotent for the token holder). From here on a redelivered
        task sees ``IN_DOUBT`` instead of taking the record over. Past the record's validity
        it answers ``False`` too (the holder keeps its token and may :meth:`expire` it).
        Raises :class:`RecordNotFound`.
        """
        verdict = as_text(
            self._begin_hit(
                keys=[self.keys.message(message_id)],
                args=[token, repr(self.clock()), account or ""],
            )
        )
        if verdict == "missing":
            raise RecordNotFound(message_id)
        return verdict == "ok"

    def hit_refused(self, message_id: str, token: str) -> bool:
        """The holder's last hit was answered "not processed" and it waits to try again: the
        record is not in doubt meanwhile (a worker that dies now is resolved by sending again,
        not by ``unknown``). ``False`` if ``token`` no longer holds the record."""
        verdict = self._hit_refused(
            keys=[self.keys.message(message_id)], args=[token, repr(self.clock())]
        )
        return as_text(verdict) == "ok"

    def mark_sent(
        self,
        message_id: str,
        token: str,
        ref_no: str | None,
        *,
        next_poll_at: float,
        provider_status: str | None = None,
    ) -> bool:
        """``sending``/``unknown`` → ``sent``: store ``ref_no``, index it, schedule the first poll.

        ``ref_no`` may be ``None`` (a phone check, an answer without one): the record is still
        put on the poll index, where the poller sees it cannot be polled and may expire it.
        Status updates parked for ``ref_no`` (a push that overtook the send) are applied next.
        Returns ``False`` (and changes nothing) when the record is already past ``sent``.
        Raises :class:`Fenced` when ``token`` is not the record's, :class:`RecordNotFound`.
        """
        now = self.clock()
        fields: dict[str, Any] = {"sent_at": now, "updated_at": now}
        if ref_no is not None:
            fields["ref_no"] = ref_no
        if provider_status is not None:
            fields["provider_status"] = provider_status
        moved = self._move(
            message_id,
            MessageState.SENT,
            "mark_sent",
            token=token,
            fields=fields,
            score=next_poll_at,
            ref_no=ref_no,
        )
        if moved and ref_no is not None:
            try:
                self.apply_parked(ref_no)
            except (redis.RedisError, LedgerError) as exc:
                # The send is recorded; the housekeeping sweep applies what is parked later.
                log.warning("message %s: parked updates not applied yet: %s", message_id, exc)
        return moved

    def mark_rejected(
        self,
        message_id: str,
        error: BaseException | str,
        *,
        token: str | None = None,
        only_from: MessageState | None = None,
    ) -> bool:
        """``accepted``/``sending`` → ``rejected``: refused for good (validation, provider 4xx).

        With ``token`` the move is fenced (raises :class:`Fenced` on a stale token);
        ``only_from`` narrows where it may come from (``accepted``: a record nobody claimed).
        Returns ``False`` when the move is not allowed from the current state (nothing changes).
        """
        return self._finish(
            message_id, MessageState.REJECTED, error, token, "mark_rejected", only_from
        )

    def abort(self, message_id: str, reason: str) -> bool:
        """``accepted`` → ``aborted``: a message that will not be sent because its sender
        withdrew it (a cancelled campaign); ``False`` if it is no longer ``accepted``."""
        now = self.clock()
        fields = {"error": describe_error(reason), "updated_at": now}
        return self._move(
            message_id,
            MessageState.ABORTED,
            "abort",
            fields=fields,
            at=now,
            allowed_from=[MessageState.ACCEPTED],
        )

    def mark_failed(
        self, message_id: str, error: BaseException | str, *, token: str | None = None
    ) -> bool:
        """``sending``/``sent``/``unknown`` → ``failed``; fenced and answered like the above."""
        return self._finish(message_id, MessageState.FAILED, error, token, "mark_failed")

    def mark_unknown(
        self, message_id: str, error: BaseException | str, *, token: str | None = None
    ) -> bool:
        """``sending`` → ``unknown``: the hit's outcome cannot be known; never sent again.

        The claim token stays on the record, so a late answer to that hit can still be
        recorded with :meth:`mark_sent`. Fenced and answered as :meth:`mark_rejected`.
        """
        return self._finish(message_id, MessageState.UNKNOWN, error, token, "mark_unknown")

    def release(
        self,
        message_id: str,
        token: str,
        error: BaseException | str,
        *,
        retry_at: float | None = None,
    ) -> None:
        """``sending`` → ``accepted`` again, for a retry; the one step back, for the holder only.

        Only when the hit never started, or its outcome is known not to have been processed
        (429, a refused connection): the caller vouches for that. The token is dropped, and
        the record is back on the accepted index scored ``retry_at`` (default now), where
        :meth:`stuck_accepted` finds it. Raises :class:`Fenced`, :class:`IllegalTransition`
        (not ``sending``), :class:`RecordNotFound`.
        """
        now = self.clock()
        verdict, current = self._run_transition(
            message_id,
            MessageState.ACCEPTED,
            [MessageState.SENDING],
            token=token,
            fields={"error": describe_error(error), "hit_started": "0", "updated_at": now},
            delete=["token", "hit_started_at"],
            score=now if retry_at is None else retry_at,
        )
        if verdict == "fenced":
            raise Fenced(message_id, "release")
        if verdict == "illegal":
            raise IllegalTransition(message_id, current, MessageState.ACCEPTED)

    # -- status updates (polls, callbacks, beat) -----------------------------------------------

    def update_status(
        self,
        message_id: str,
        state: MessageState | str,
        *,
        provider_status: str | None = None,
        at: float | None = None,
        error: BaseException | str | None = None,
        next_poll_at: float | None = None,
    ) -> bool:
        """Move the record forward to ``state``; a backwards or unknown move is a no-op.

        Returns whether the record moved. ``at`` is when the provider saw the new state
        (default now): it becomes ``final_at`` (or ``sent_at``). A final state takes the record
        off the poll index; ``sent`` (from ``unknown``) puts it on, due at ``next_poll_at``.
        Raises :class:`IllegalTransition` for ``accepted``/``sending`` (claim states, never a
        status), :class:`RecordNotFound`.
        """
        target = MessageState(state)
        if target not in _STATUS_TARGETS:
            raise IllegalTransition(message_id, "any state", target)
        now = self.clock()
        when = now if at is None else at
        fields: dict[str, Any] = {"updated_at": now}
        if provider_status is not None:
            fields["provider_status"] = provider_status
        if error is not None:
            fields["error"] = describe_error(error)
        score = None
        if target is MessageState.SENT:
            fields["sent_at"] = when
            score = now if next_poll_at is None else next_poll_at
        allowed = predecessors(target) - _UNSENT if target is MessageState.EXPIRED else None
        return self._move(
            message_id,
            target,
            "update_status",
            fields=fields,
            score=score,
            at=when,
            allowed_from=allowed,
        )

    # -- indexes -------------------------------------------------------------------------------

    def due_for_poll(
        self, now: float, limit: int, *, otp_only: bool = False, offset: int = 0
    ) -> list[str]:
        """Ids of ``sent`` records whose next status poll is due at ``now``, earliest first.

        ``otp_only`` reads the OTP part of the index alone (polled before the rest).
        """
        index = self.keys.sent_otp_index if otp_only else self.keys.sent_index
        ids = self.redis.zrangebyscore(index, "-inf", now, start=offset, num=limit)
        return [as_text(i) for i in ids]

    def reschedule_poll(self, message_id: str, at: float) -> bool:
        """Set the next poll of a ``sent`` record; ``False`` if it is no longer on the index."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self.keys.sent_index, {message_id: at}, xx=True)
        pipe.zadd(self.keys.sent_otp_index, {message_id: at}, xx=True)
        pipe.zscore(self.keys.sent_index, message_id)
        return pipe.execute()[2] is not None

    def stuck_accepted(self, older_than_s: float, limit: int) -> list[str]:
        """Ids ``accepted`` (or released for retry) at least ``older_than_s`` ago, oldest first."""
        cutoff = self.clock() - older_than_s
        ids = self.redis.zrangebyscore(self.keys.accepted_index, "-inf", cutoff, start=0, num=limit)
        return [as_text(i) for i in ids]

    def count_sent_index(self) -> int:
        """How many ``sent`` records await a status poll."""
        return int(self.redis.zcard(self.keys.sent_index))

    def counts_by_state(self, message_ids: Iterable[str]) -> dict[MessageState, int]:
        """How many of ``message_ids`` are in each state (missing records are not counted)."""
        pipe = self.redis.pipeline(transaction=False)
        for message_id in message_ids:
            pipe.hget(self.keys.message(message_id), "state")
        counts: dict[MessageState, int] = {}
        for value in pipe.execute():
            if value is not None:
                state = MessageState(as_text(value))
                counts[state] = counts.get(state, 0) + 1
        return counts

    # -- internals -----------------------------------------------------------------------------

    def _finish(
        self,
        message_id: str,
        target: MessageState,
        error: BaseException | str,
        token: str | None,
        operation: str,
        only_from: MessageState | None = None,
    ) -> bool:
        now = self.clock()
        fields = {"error": describe_error(error), "updated_at": now}
        allowed = None if only_from is None else [only_from]
        return self._move(
            message_id, target, operation, token=token, fields=fields, at=now, allowed_from=allowed
        )

    def _move(
        self,
        message_id: str,
        target: MessageState,
        operation: str,
        *,
        fields: dict[str, Any],
        token: str | None = None,
        score: float | None = None,
        ref_no: str | None = None,
        at: float | None = None,
        allowed_from: Iterable[MessageState] | None = None,
    ) -> bool:
        """A forward move along the graph: ``False`` if not allowed, :class:`Fenced` if stale."""
        delete: tuple[str, ...] = ()
        if target.is_final:
            fields["final_at"] = self.clock() if at is None else at
            delete = CLAIM_BOOKKEEPING
        verdict, _ = self._run_transition(
            message_id,
            target,
            predecessors(target) if allowed_from is None else allowed_from,
            token=token,
            fields=fields,
            score=score,
            ref_no=ref_no,
            delete=delete,
        )
        if verdict == "fenced":
            raise Fenced(message_id, operation)
        return verdict == "ok"

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
        keys = self.keys
        script_keys = [
            keys.message(message_id),
            keys.accepted_index,
            keys.sent_index,
            keys.sent_otp_index,
            keys.events,
            keys.lease_index,
            keys.dead_letters,
            keys.state_counts,
        ]
        if ref_no is not None:
            script_keys.append(self.keys.ref(ref_no))
        ttl = self.retention_s if target in EXPIRING_STATES else 0
        final = target.is_final
        args: list[Any] = [
            message_id,
            target.value,
            " ".join(sorted(allowed_from)),
            token or "",
            ttl,
            "" if score is None else repr(float(score)),
            max(REF_TTL_S, self.retention_s),  # a late callback finds a record still kept
            self.events_maxlen,
            keys.campaign_prefix,
            "1" if final else "0",
            self.dead_letters_maxlen,
            self.retention_s * 1000,
            len(delete),
            *delete,
        ]
        for field, value in fields.items():
            args += [field, repr(value) if isinstance(value, float) else value]
        answer = self._transition(keys=script_keys, args=args)
        verdict, current, *said = (as_text(v) for v in answer)
        if verdict == "missing":
            raise RecordNotFound(message_id)
        if verdict == "ok":
            account, ref = said
            reason = fields.get("error")
            log_move(message_id, target, current, account=account, ref_no=ref, reason=reason)
        return verdict, current

    def state_counts(self) -> dict[MessageState, int]:
        """How many records are in each state, as every move counted them (one HGETALL; see
        :attr:`~nusaworker.keys.Keys.state_counts` for what a final state's count means)."""
        raw = self.redis.hgetall(self.keys.state_counts)
        counts = dict.fromkeys(MessageState, 0)
        for name, value in raw.items():
            try:
                counts[MessageState(as_text(name))] = int(value)
            except ValueError:
                continue  # a state this version does not know
        return counts
