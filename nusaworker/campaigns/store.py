"""A campaign in Redis: its hash, its rows, its skipped rows, its window — every read and write.

::

    cmp:<id>          hash   spec (JSON), state, control, cursor, row counts (rows:*),
                             message counts per state (n:<state>, kept by the ledger's scripts),
                             the dispatcher's rate tokens, timestamps
    cmp:<id>:rows     list   accepted rows in order, "row<TAB>destination<TAB>text"
    cmp:<id>:skipped  list   rows not accepted, "row<TAB>problem<TAB>value<TAB>reason"
    cmp:<id>:window   set    ids handed to the broker and not claimed yet

A row costs its list entry (~20 bytes of overhead beyond its text, measured in the bench)
until it is dispatched; only then does it become a ledger record. The rows list is read by
position and never popped: the report walks it, and a dispatcher that dies mid-run reads the
same rows again (record ids are derived from the campaign and row, so creating them again is a
no-op). The ``cursor`` only moves forward, by a compare-and-set, so two dispatchers can never
skip or double a row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from nusaworker.campaigns.spec import CampaignSpec, CampaignState
from nusaworker.keys import Keys
from nusaworker.ledger import MessageState
from nusaworker.redis_scripts import as_text

# Fields of the campaign hash.
SPEC = "spec"
STATE = "state"
CONTROL = "control"
CURSOR = "cursor"
ROWS = "rows"  # accepted rows recorded (the length of the rows list once accepting ends)
CREATED_AT = "created_at"
STARTED_AT = "started_at"
ENDED_AT = "ended_at"
TOKENS = "tokens"
TICK_AT = "tick_at"
COST = "cost"
REASON = "reason"

#: The control word the claim script reads (``ledger/lua/claim.lua``).
RUN, PAUSE, CANCEL = "run", "pause", "cancel"

# The row problems counted on the hash besides the accepted rows (rows.RowProblem + ours).
SUPPRESSED = "suppressed"
INVALID_TEXT = "invalid_text"


def row_id(campaign_id: str, row: int) -> str:
    """The message id of a campaign's row: derived, so that creating it twice is a no-op."""
    return f"{campaign_id}.{row}"


def campaign_of(message_id: str) -> str | None:
    """The campaign a message id belongs to (:func:`row_id`), or None (a producer's id is
    hex digits only)."""
    campaign_id, dot, _ = message_id.rpartition(".")
    return campaign_id if dot else None


@dataclass(frozen=True, slots=True)
class PendingRow:
    """An accepted row as stored: its source row number, destination and text."""

    row: int
    destination: str
    text: str

    def encode(self) -> str:
        return f"{self.row}\t{self.destination}\t{self.text}"

    @classmethod
    def decode(cls, raw: str | bytes) -> PendingRow:
        row, destination, text = as_text(raw).split("\t", 2)
        return cls(int(row), destination, text)


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row not accepted: why (``problem``, ``reason``) and the value concerned."""

    row: int
    problem: str
    value: str
    reason: str

    def encode(self) -> str:
        clean = (self.value.replace("\t", " "), self.reason.replace("\t", " "))
        return f"{self.row}\t{self.problem}\t{clean[0]}\t{clean[1]}"

    @classmethod
    def decode(cls, raw: str | bytes) -> SkippedRow:
        row, problem, value, reason = as_text(raw).split("\t", 3)
        return cls(int(row), problem, value, reason)


@dataclass(frozen=True)
class CampaignInfo:
    """One reading of a campaign's hash (plus the lengths of its lists)."""

    id: str
    spec: CampaignSpec
    state: CampaignState
    control: str
    cursor: int
    rows: int
    skipped: dict[str, int]
    messages: dict[str, int]
    created_at: float
    started_at: float | None
    ended_at: float | None
    queued: int
    cost: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    #: The dispatcher's rate tokens and when it last counted them (None before its first tick).
    tokens: float | None = None
    tick_at: float | None = None

    @property
    def pending(self) -> int:
        """Rows not handed out yet."""
        return max(0, self.rows - self.cursor)

    @property
    def unclaimed(self) -> int:
        """Messages recorded and not claimed yet (queued, or waiting for a retry)."""
        return self.messages.get(MessageState.ACCEPTED, 0)

    @property
    def unsent(self) -> int:
        """Messages handed out and not sent yet: queued, claimed, or waiting for a retry."""
        return self.messages.get(MessageState.ACCEPTED, 0) + self.messages.get(
            MessageState.SENDING, 0
        )

    @property
    def done(self) -> int:
        """Messages past the send: sent or further (final or not)."""
        busy = (MessageState.ACCEPTED, MessageState.SENDING)
        return sum(n for state, n in self.messages.items() if state not in busy)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.spec.name,
            "channel": self.spec.channel,
            "state": self.state.value,
            "rows": self.rows,
            "dispatched": self.cursor,
            "pending": self.pending,
            "queued": self.queued,
            "skipped": self.skipped,
            "messages": self.messages,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "cost": self.cost,
            "reason": self.reason,
        }


class CampaignStore:
    """Reads and writes campaigns' keys (thread-safe: one Redis client, no local state)."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        clock: Callable[[], float] = time.time,
        retention_s: float = 30 * 24 * 3600,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self.retention_s = max(1, int(retention_s))
        self._advance = redis_client.register_script(_ADVANCE)
        self._set_state = redis_client.register_script(_SET_STATE)

    # -- writing -------------------------------------------------------------------------

    def create(self, campaign_id: str, spec: CampaignSpec) -> None:
        """A new campaign in ``accepting``, not yet visited by the dispatcher."""
        now = self.clock()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            self.keys.campaign(campaign_id),
            mapping={
                SPEC: spec.to_json(),
                STATE: CampaignState.ACCEPTING.value,
                CONTROL: RUN,
                CURSOR: 0,
                ROWS: 0,
                CREATED_AT: repr(now),
            },
        )
        pipe.zadd(self.keys.campaign_index, {campaign_id: now})
        pipe.execute()

    def append(
        self,
        campaign_id: str,
        rows: Sequence[PendingRow],
        skipped: Sequence[SkippedRow],
        skipped_counts: Mapping[str, int],
    ) -> None:
        """Record a batch of rows: one round trip, in order."""
        pipe = self.redis.pipeline(transaction=False)
        if rows:
            pipe.rpush(self.keys.campaign_rows(campaign_id), *(r.encode() for r in rows))
            pipe.hincrby(self.keys.campaign(campaign_id), ROWS, len(rows))
        if skipped:
            pipe.rpush(self.keys.campaign_skipped(campaign_id), *(s.encode() for s in skipped))
        for problem, n in skipped_counts.items():
            if n:
                pipe.hincrby(self.keys.campaign(campaign_id), f"rows:{problem}", n)
        pipe.execute()

    def set_fields(self, campaign_id: str, **fields: Any) -> None:
        self.redis.hset(
            self.keys.campaign(campaign_id),
            mapping={k: json.dumps(v) if isinstance(v, dict) else v for k, v in fields.items()},
        )

    def move(
        self,
        campaign_id: str,
        to: CampaignState,
        *,
        allowed_from: Iterable[CampaignState],
        control: str | None = None,
        reason: str = "",
    ) -> bool:
        """Move the campaign to ``to`` (and its control word) if it is in one of
        ``allowed_from``; a final state also takes it off the dispatcher's set and gives its keys
        the record retention. Atomic; ``False`` if it was elsewhere."""
        keys = self.keys
        verdict = self._set_state(
            keys=[
                keys.campaign(campaign_id),
                keys.campaign_active,
                keys.campaign_rows(campaign_id),
                keys.campaign_skipped(campaign_id),
                keys.campaign_window(campaign_id),
            ],
            args=[
                campaign_id,
                to.value,
                " ".join(s.value for s in allowed_from),
                control or "",
                repr(self.clock()),
                "1" if to.is_final else "0",
                self.retention_s,
                "1" if to in (CampaignState.SCHEDULED, CampaignState.RUNNING) else "0",
                reason,
            ],
        )
        return as_text(verdict) == "ok"

    def advance(self, campaign_id: str, expected: int, by: int) -> bool:
        """Move the cursor from ``expected`` to ``expected + by``; ``False`` if another
        dispatcher moved it first (then this one's rows were its rows too)."""
        moved = self._advance(keys=[self.keys.campaign(campaign_id)], args=[expected, by])
        return bool(int(moved))

    def add_to_window(self, campaign_id: str, message_ids: Sequence[str]) -> None:
        if message_ids:
            self.redis.sadd(self.keys.campaign_window(campaign_id), *message_ids)

    def drop_from_window(self, campaign_id: str, message_ids: Sequence[str]) -> None:
        if message_ids:
            self.redis.srem(self.keys.campaign_window(campaign_id), *message_ids)

    def window(self, campaign_id: str) -> list[str]:
        return sorted(
            as_text(i) for i in self.redis.smembers(self.keys.campaign_window(campaign_id))
        )

    def save_tokens(self, campaign_id: str, tokens: float, at: float) -> None:
        self.redis.hset(
            self.keys.campaign(campaign_id), mapping={TOKENS: repr(tokens), TICK_AT: repr(at)}
        )

    # -- reading -------------------------------------------------------------------------

    def exists(self, campaign_id: str) -> bool:
        return bool(self.redis.exists(self.keys.campaign(campaign_id)))

    def load(self, campaign_id: str) -> CampaignInfo | None:
        """The campaign as it is now, or ``None`` if there is none (or it expired)."""
        found = self.load_many([campaign_id])
        return found[0] if found else None

    def load_many(self, campaign_ids: Sequence[str]) -> list[CampaignInfo]:
        """The campaigns that still exist of ``campaign_ids``, in their order, in one round
        trip (what a page showing many at once reads)."""
        pipe = self.redis.pipeline(transaction=False)
        for campaign_id in campaign_ids:
            pipe.hgetall(self.keys.campaign(campaign_id))
            pipe.scard(self.keys.campaign_window(campaign_id))
        replies = pipe.execute()
        out = []
        for i, campaign_id in enumerate(campaign_ids):
            data, queued = replies[2 * i], replies[2 * i + 1]
            if data:
                raw = {as_text(k): as_text(v) for k, v in data.items()}
                out.append(_info(campaign_id, raw, int(queued)))
        return out

    def rows(self, campaign_id: str, start: int, count: int) -> list[PendingRow]:
        """``count`` accepted rows from position ``start`` (fewer at the end)."""
        if count <= 0:
            return []
        raw = self.redis.lrange(self.keys.campaign_rows(campaign_id), start, start + count - 1)
        return [PendingRow.decode(r) for r in raw]

    def skipped(self, campaign_id: str, start: int, count: int) -> list[SkippedRow]:
        raw = self.redis.lrange(self.keys.campaign_skipped(campaign_id), start, start + count - 1)
        return [SkippedRow.decode(r) for r in raw]

    def active(self) -> list[str]:
        return sorted(as_text(i) for i in self.redis.smembers(self.keys.campaign_active))

    def listing(self, limit: int = 100) -> list[str]:
        """The newest campaign ids first (those whose hash still exists)."""
        ids = [as_text(i) for i in self.redis.zrevrange(self.keys.campaign_index, 0, limit - 1)]
        pipe = self.redis.pipeline(transaction=False)
        for campaign_id in ids:
            pipe.exists(self.keys.campaign(campaign_id))
        gone = [i for i, alive in zip(ids, pipe.execute(), strict=True) if not alive]
        if gone:
            self.redis.zrem(self.keys.campaign_index, *gone)
        return [i for i in ids if i not in gone]

    def memory(self, campaign_id: str) -> int:
        """Bytes Redis spends on the campaign's own keys (``MEMORY USAGE``, all samples)."""
        total = 0
        for key in (
            self.keys.campaign(campaign_id),
            self.keys.campaign_rows(campaign_id),
            self.keys.campaign_skipped(campaign_id),
            self.keys.campaign_window(campaign_id),
        ):
            total += int(self.redis.memory_usage(key, samples=0) or 0)
        return total


def _float(raw: Mapping[str, str], name: str) -> float | None:
    value = raw.get(name)
    return float(value) if value else None


def _info(campaign_id: str, raw: Mapping[str, str], queued: int) -> CampaignInfo:
    messages = {k[2:]: int(v) for k, v in raw.items() if k.startswith("n:") and int(v)}
    skipped = {k[5:]: int(v) for k, v in raw.items() if k.startswith("rows:") and int(v)}
    return CampaignInfo(
        id=campaign_id,
        spec=CampaignSpec.from_json(raw[SPEC]),
        state=CampaignState(raw[STATE]),
        control=raw.get(CONTROL, RUN),
        cursor=int(raw.get(CURSOR, 0)),
        rows=int(raw.get(ROWS, 0)),
        skipped=skipped,
        messages=messages,
        created_at=float(raw[CREATED_AT]),
        started_at=_float(raw, STARTED_AT),
        ended_at=_float(raw, ENDED_AT),
        queued=queued,
        cost=json.loads(raw[COST]) if raw.get(COST) else {},
        reason=raw.get(REASON) or None,
        tokens=_float(raw, TOKENS),
        tick_at=_float(raw, TICK_AT),
    )


# The cursor's compare-and-set.
_ADVANCE = """
if tonumber(redis.call('HGET', KEYS[1], 'cursor') or '0') ~= tonumber(ARGV[1]) then
    return 0
end
redis.call('HINCRBY', KEYS[1], 'cursor', ARGV[2])
return 1
"""

# A state move of a campaign, with its control word, the dispatcher's set and the keys' TTL.
# KEYS: hash, active set, rows, skipped, window. ARGV: id, new state, allowed states
# (space-separated), control ('' = unchanged), now, final ('1'/'0'), retention s,
# started ('1' when the move starts sending: started_at is set once), reason ('' = none).
_SET_STATE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
    return 'missing'
end
if not string.find(' ' .. ARGV[3] .. ' ', ' ' .. state .. ' ', 1, true) then
    return 'illegal'
end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if ARGV[4] ~= '' then
    redis.call('HSET', KEYS[1], 'control', ARGV[4])
end
if ARGV[9] ~= '' then
    redis.call('HSET', KEYS[1], 'reason', ARGV[9])
end
if ARGV[8] == '1' and ARGV[2] == 'running' and not redis.call('HGET', KEYS[1], 'started_at') then
    redis.call('HSET', KEYS[1], 'started_at', ARGV[5])
end
if ARGV[6] == '1' then
    redis.call('HSET', KEYS[1], 'ended_at', ARGV[5])
    redis.call('SREM', KEYS[2], ARGV[1])
    for i = 1, 5 do
        if i ~= 2 then
            redis.call('EXPIRE', KEYS[i], ARGV[7])
        end
    end
else
    redis.call('SADD', KEYS[2], ARGV[1])
end
return 'ok'
"""
