"""The dispatcher: keeps a small, bounded number of each running campaign's messages in flight.

Two things drive it. Beat runs :meth:`Dispatcher.run` every second
(``nusaworker.housekeeping.campaigns``): for each active campaign, under a per-campaign lock,
one *tick* — schedule, window, refill, end (below). And every campaign message that ends its
send task tops its campaign up at once (:meth:`Dispatcher.top_up`, from the send task): the
campaign is self-clocked, one message out for each one done, so a small number in flight keeps
the account's pacing gate busy without a second's worth of tasks filling every worker thread.

1. **Schedule.** A campaign whose ``start_at`` has come starts; one outside its sending window
   waits (its control word becomes ``pause``, so what is already queued is not claimed) and
   starts again by itself when the window opens.
2. **Window.** The ids handed to the broker and still ``accepted``; those claimed since the
   last tick leave it (it is what a resume enqueues again).
3. **Refill.** At most ``NUSAWORKER_CAMPAIGN_IN_FLIGHT`` (6) of the campaign's messages are
   unsent (``accepted`` or ``sending``, counted by the ledger's scripts) at any time, and the
   campaign earns ``rate_share * account rate`` tokens a second (at most a second's worth): it
   hands out ``min(tokens, room)`` rows. Each becomes a ledger record (id ``<campaign>.<row>``,
   at the campaign's priority) and one send task. An ``auto`` row first needs its phone check:
   the rows ahead are asked for (coalesced with every other asker), and a row is handed out
   once its answer is known (WhatsApp if registered, else SMS).
4. **Cursor.** Only then does the cursor move, by compare-and-set: a dispatcher that dies in
   between leaves the cursor where it was, and the next refill makes the same records again
   (a no-op: the ids are derived) and enqueues those still ``accepted`` (a second task for a
   record is harmless: the claim decides).
5. **End.** Every row handed out and nothing left ``accepted`` or ``sending``: ``finished``.

Why so few in flight: a worker thread that takes a campaign task holds it until the hit is
answered — through its wait at the pacing gate. With a second's worth of campaign tasks on the
broker every thread of a plain worker would hold one, and an OTP would wait for a thread to
free (up to a hit's answer) before it could even queue at the gate. Six in flight cover the
answer time of a provider answering within ~200 ms at 20 hits/s (``rate x answer time`` plus a
couple waiting at the gate); the rest of the threads stay free for OTPs and other traffic.
A pause or a cancel also leaves at most that many queued — and the claim refuses even those.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from nusaworker.campaigns.accept import payload
from nusaworker.campaigns.spec import CampaignState
from nusaworker.campaigns.store import (
    CANCEL,
    PAUSE,
    RUN,
    CampaignInfo,
    CampaignStore,
    PendingRow,
    row_id,
)
from nusaworker.keys import EVENTS_MAXLEN
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.phonecheck import BATCH_SIZE, PhoneChecks

log = logging.getLogger(__name__)

#: ``(message_id, channel, priority)`` → the send task is on the broker.
Enqueue = Callable[[str, str, str], None]
#: channel → the hits per second of the account that sends it now.
RateOf = Callable[[str], float]

# The beat entry (merged into ``beat_schedule`` by ``nusaworker/celery.py``); a run that could
# not start within two periods is dropped: the next one does the same work.
DISPATCH_PERIOD_S = 1.0
SCHEDULE: dict[str, dict[str, Any]] = {
    "campaigns.dispatch": {
        "task": "nusaworker.housekeeping.campaigns",
        "schedule": DISPATCH_PERIOD_S,
        "options": {"expires": 2 * DISPATCH_PERIOD_S, "priority": 0},
    },
}

# A campaign's lock outlives a slow tick; a dead dispatcher's lock lapses within seconds.
LOCK_TTL_MS = 10_000
# How far ahead (seconds of its sending) an ``auto`` campaign asks phone checks for, once a
# tick: checks are coalesced into 100-number hits that take a tick or two to come back, so the
# answers are in the cache well before the rows are handed out.
AUTO_LOOKAHEAD_S = 10.0
# The least a campaign may hold in tokens: a share so small that it earns under one token a
# tick still sends (one row per tick at worst).
MIN_TOKENS = 1.0
# Tokens saved up while the campaign had no room: at most a second's worth, so that a campaign
# that waited does not burst past its share.
TOKENS_CAP_S = 1.0
# A send task's top-up gives up at once if another holds the campaign's lock (the holder or the
# next top-up does the work); a held lock lapses this fast if its holder died.
TOP_UP_LOCK_MS = 2_000


@dataclass
class Tick:
    """What one tick did to one campaign."""

    campaign_id: str
    state: str
    dispatched: int = 0
    requeued: int = 0
    waiting_checks: int = 0
    events: list[str] = field(default_factory=list)


class Dispatcher:
    """Ticks every active campaign; see the module docstring."""

    def __init__(
        self,
        store: CampaignStore,
        ledger: Ledger,
        *,
        enqueue: Enqueue,
        rate_of: RateOf,
        phone_checks: PhoneChecks | None = None,
        in_flight: int = 6,
        auto_timeout_s: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.enqueue = enqueue
        self.rate_of = rate_of
        self.phone_checks = phone_checks
        self.in_flight = in_flight
        self.auto_timeout_s = auto_timeout_s
        self.clock = clock

    @property
    def redis(self) -> redis.Redis:
        return self.store.redis

    def run(self) -> list[Tick]:
        """One tick of every active campaign this run can lock."""
        ticks = []
        for campaign_id in self.store.active():
            with self._locked(campaign_id, LOCK_TTL_MS) as mine:
                if not mine:
                    continue  # another dispatcher is on it
                try:
                    tick = self.tick(campaign_id)
                except Exception:  # one campaign's trouble must not stop the others
                    log.exception("campaign %s: tick failed", campaign_id)
                    continue
            if tick is not None:
                ticks.append(tick)
        return ticks

    def tick(self, campaign_id: str) -> Tick | None:
        """One tick of one campaign (the caller holds its lock)."""
        info = self.store.load(campaign_id)
        if info is None:
            self.redis.srem(self.store.keys.campaign_active, campaign_id)
            return None
        now = self.clock()
        tick = Tick(campaign_id, info.state.value)
        state = self._schedule(info, now, tick)
        if state is not CampaignState.RUNNING:
            tick.state = state.value
            return tick
        self._refresh_window(campaign_id)
        self._ask_ahead(info)
        self._refill(info, now, tick)
        self._finish_if_done(campaign_id, tick)
        return tick

    def top_up(self, campaign_id: str) -> int:
        """Hand out what a running campaign has room for now (a message of it just ended);
        how many. Skipped when another dispatcher holds the campaign."""
        with self._locked(campaign_id, TOP_UP_LOCK_MS) as mine:
            info = self.store.load(campaign_id) if mine else None
            if info is None or info.state is not CampaignState.RUNNING:
                return 0
            tick = Tick(campaign_id, info.state.value)
            self._refill(info, self.clock(), tick)
            return tick.dispatched

    @contextlib.contextmanager
    def _locked(self, campaign_id: str, ttl_ms: int) -> Iterator[bool]:
        """Hold the campaign's lock for the block if it is free (yields whether it is held);
        released only by its holder, so a lock that lapsed and was taken is left alone."""
        token = secrets.token_hex(8)
        lock = self.store.keys.campaign_lock(campaign_id)
        mine = bool(self.redis.set(lock, token, nx=True, px=ttl_ms))
        try:
            yield mine
        finally:
            if mine and self.redis.get(lock) in (token, token.encode()):
                self.redis.delete(lock)

    # -- 1. schedule ---------------------------------------------------------------------

    def _schedule(self, info: CampaignInfo, now: float, tick: Tick) -> CampaignState:
        spec, state = info.spec, info.state
        if state is CampaignState.SCHEDULED:
            if spec.start_at is not None and now < spec.start_at:
                return state
            if self._move(info, CampaignState.RUNNING, [state], RUN, "started", tick):
                state = CampaignState.RUNNING
        window = spec.sending_window()
        if window is None or state not in (CampaignState.RUNNING, CampaignState.WAITING):
            return state
        is_open = window.is_open(now)
        if state is CampaignState.RUNNING and not is_open:
            self._move(info, CampaignState.WAITING, [state], PAUSE, "window_closed", tick)
            return CampaignState.WAITING
        if (
            state is CampaignState.WAITING
            and is_open
            and self._move(info, CampaignState.RUNNING, [state], RUN, "window_opened", tick)
        ):
            tick.requeued = requeue_window(self.store, self.ledger, info.id, self.enqueue)
            return CampaignState.RUNNING
        return state

    def _move(
        self,
        info: CampaignInfo,
        to: CampaignState,
        allowed: list[CampaignState],
        control: str,
        event: str,
        tick: Tick,
    ) -> bool:
        moved = self.store.move(info.id, to, allowed_from=allowed, control=control)
        if moved:
            tick.events.append(event)
            announce(self.store, info.id, event, to)
        return moved

    # -- 2. window -----------------------------------------------------------------------

    def _refresh_window(self, campaign_id: str) -> None:
        """Drop the claimed ids from the window."""
        ids = self.store.window(campaign_id)
        if ids:
            states = self.ledger.states(ids)
            gone = [i for i, s in zip(ids, states, strict=True) if s != MessageState.ACCEPTED]
            self.store.drop_from_window(campaign_id, gone)

    # -- 3. refill -----------------------------------------------------------------------

    def _refill(self, info: CampaignInfo, now: float, tick: Tick) -> None:
        rate = self._rate(info)
        capacity = max(MIN_TOKENS, rate * TOKENS_CAP_S)
        earned = rate * max(0.0, now - (info.tick_at or now))
        tokens = min(capacity, (capacity if info.tokens is None else info.tokens) + earned)
        room = self.in_flight - info.unsent
        wanted = min(int(tokens), room, info.pending)
        if wanted > 0:
            rows = self.store.rows(info.id, info.cursor, wanted)
            channels = self._channels(info, rows, now, tick)
            rows = rows[: len(channels)]
            if rows:
                self._hand_out(info, rows, channels)
                if self.store.advance(info.id, info.cursor, len(rows)):
                    tick.dispatched = len(rows)
                    tokens -= len(rows)
        self.store.save_tokens(info.id, tokens, now)

    def _channels(
        self, info: CampaignInfo, rows: list[PendingRow], now: float, tick: Tick
    ) -> list[str]:
        """The channel of each row, in order, as far as it is known (``auto``: the rows up to
        the first whose phone check has not answered yet)."""
        spec = info.spec
        if spec.channel != "auto":
            return [spec.channel] * len(rows)
        if self.phone_checks is None:
            return ["sms"] * len(rows)  # nobody to ask: SMS reaches every phone
        answers = self.phone_checks.lookup(r.destination for r in rows)
        channels: list[str] = []
        for row in rows:
            answer = answers.get(row.destination)
            if answer is None:
                if self._checks_overdue(info.id, now):
                    channels.append("sms")
                    continue
                tick.waiting_checks = len(rows) - len(channels)
                break
            channels.append("wa" if answer else "sms")
        if len(channels) == len(rows):
            self.redis.hdel(self.store.keys.campaign(info.id), "checks_since")
        return channels

    def _ask_ahead(self, info: CampaignInfo) -> None:
        """An ``auto`` campaign: ask phone checks for the rows of its next seconds (cached
        answers cost nothing; numbers already asked for are not asked twice)."""
        if info.spec.channel != "auto" or self.phone_checks is None or not info.pending:
            return
        rate = self._rate(info)
        ahead = self.store.rows(info.id, info.cursor, max(BATCH_SIZE, int(rate * AUTO_LOOKAHEAD_S)))
        self.phone_checks.request(r.destination for r in ahead)

    def _rate(self, info: CampaignInfo) -> float:
        """The campaign's rate: its share of its route's account rate (``auto``: the slower)."""
        spec = info.spec
        return spec.rate_share * min(self.rate_of(c) for c in _channels(spec.channel))

    def _checks_overdue(self, campaign_id: str, now: float) -> bool:
        """Whether the head row has waited for its phone check longer than the bound (then it
        goes as an SMS rather than holding the campaign for ever)."""
        key = self.store.keys.campaign(campaign_id)
        self.redis.hsetnx(key, "checks_since", repr(now))
        since = self.redis.hget(key, "checks_since")
        return since is not None and now - float(since) > self.auto_timeout_s

    def _hand_out(self, info: CampaignInfo, rows: list[PendingRow], channels: list[str]) -> None:
        spec = info.spec
        tasks: list[tuple[str, str]] = []
        for row, channel in zip(rows, channels, strict=True):
            record = MessageRecord(
                id=row_id(info.id, row.row),
                channel=channel,
                destination=row.destination,
                priority=spec.priority,
                payload=payload(channel, row.destination, row.text, spec),
                validity_s=spec.validity_s,
                campaign=info.id,
            )
            message_id, created = self.ledger.create(record)
            if not created and self.ledger.states([message_id])[0] != MessageState.ACCEPTED:
                continue  # an earlier, interrupted tick handed it out and it was claimed
            tasks.append((message_id, channel))
        # Into the window before the broker: a task claimed at once leaves it at the next tick.
        self.store.add_to_window(info.id, [message_id for message_id, _ in tasks])
        for message_id, channel in tasks:
            self.enqueue(message_id, channel, spec.priority)

    # -- 5. end --------------------------------------------------------------------------

    def _finish_if_done(self, campaign_id: str, tick: Tick) -> None:
        info = self.store.load(campaign_id)
        if info is None or info.pending or info.queued or info.unsent:
            return
        if self.store.move(
            campaign_id, CampaignState.FINISHED, allowed_from=[CampaignState.RUNNING]
        ):
            tick.events.append("finished")
            tick.state = CampaignState.FINISHED.value
            announce(self.store, campaign_id, "finished", CampaignState.FINISHED)


def _channels(channel: str) -> tuple[str, ...]:
    return ("wa", "sms") if channel == "auto" else (channel,)


def requeue_window(store: CampaignStore, ledger: Ledger, campaign_id: str, enqueue: Enqueue) -> int:
    """Enqueue again every id of the window still ``accepted`` (after a pause); the ones whose
    task is still queued get a second task, which finds the record claimed and does nothing."""
    ids = store.window(campaign_id)
    records = ledger.get_many(ids)
    count = 0
    for record in records:
        if record.state is MessageState.ACCEPTED:
            enqueue(record.id, record.channel, record.priority)
            count += 1
    return count


def abort_window(store: CampaignStore, ledger: Ledger, campaign_id: str, reason: str) -> int:
    """Abort every id of the window still ``accepted`` (after a cancel); how many moved."""
    ids = store.window(campaign_id)
    aborted = [i for i in ids if ledger.abort(i, reason)]
    store.drop_from_window(campaign_id, ids)
    return len(aborted)


def announce(
    store: CampaignStore,
    campaign_id: str,
    event: str,
    state: CampaignState,
    extra: dict[str, Any] | None = None,
) -> None:
    """Append a ``campaign`` event to the events stream, for the hooks. The entry has the
    form of every non-state event (``type``, JSON ``data``, ``at``) that
    :mod:`nusaworker.tracking.events` hands on."""
    info = store.load(campaign_id)
    data: dict[str, Any] = {
        "campaign_id": campaign_id,
        "event": event,
        "state": state.value,
        "name": info.spec.name if info else None,
        "counts": info.messages if info else {},
        **(extra or {}),
    }
    fields: dict[Any, Any] = {
        "type": "campaign",
        "data": json.dumps(data, separators=(",", ":")),
        "at": repr(store.clock()),
    }
    store.redis.xadd(store.keys.events, fields, maxlen=EVENTS_MAXLEN, approximate=True)


__all__ = ["CANCEL", "Dispatcher", "Tick", "abort_window", "announce", "requeue_window"]
