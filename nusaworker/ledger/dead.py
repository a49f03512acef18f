"""Dead letters: the messages that ended without being sent, or in doubt — read, and judged.

The move itself writes them (``lua/transition.lua``): a record that goes from ``accepted`` or
``sending`` to ``rejected``, ``failed`` or ``unknown`` is appended to the
:attr:`~nusaworker.keys.Keys.dead_letters` stream in the same atomic step — never missed, never
announced without the move. The entry copies what an operator needs (id, channel, destination,
priority, the reason, the state it ended in and the one it came from), so the list reads
without the records, and reads a record that cannot be read as well. The stream is capped by
length and trimmed to the record retention (:data:`~nusaworker.keys.DEAD_LETTERS_MAXLEN`).

Why a stream of its own rather than the events stream: the events stream takes every move of
every message (capped at 200,000 entries, hours of a busy fleet) and is read by the hooks; a
dead letter must stay findable for as long as its record, among a few of its kind.

Which may be sent again (:func:`requeue_refusal`): a message that ended ``rejected`` or
``failed`` with nothing sent — never one that ended ``unknown`` (its hit may have reached the
provider), never one whose earlier hit may have (``account_pinned``), never one that moved on
since, and only while its record (and so its payload) is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import redis

from nusaworker.keys import Keys
from nusaworker.ledger.states import MessageState
from nusaworker.redis_scripts import as_text

__all__ = ["PAGE", "DeadLetter", "DeadLetters", "requeue_refusal"]

PAGE = 500  # entries read per round trip when filtering or looking one up
RESOLVED = frozenset({MessageState.SENT, MessageState.DELIVERED, MessageState.READ})
# What the listing reads of each entry's record now.
NOW_FIELDS = ("state", "requeued_as", "account_pinned", "payload")


@dataclass(frozen=True)
class DeadLetter:
    """One message that ended rejected, failed or unknown; ``at``: when (unix seconds).

    ``state_now`` is the record's state when it was read (``None``: its record is gone);
    ``requeued_as`` the id of the message an operator sent in its place, if any.
    """

    entry: str
    at: float
    message_id: str
    state: str
    previous: str
    channel: str | None
    destination: str | None
    priority: str | None
    error: str | None
    account: str | None
    state_now: str | None = None
    requeued_as: str | None = None
    account_pinned: bool = False
    has_payload: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The letter as JSON-ready data (the destination as stored: mask it to show it)."""
        return {
            "id": self.message_id,
            "at": self.at,
            "state": self.state,
            "previous": self.previous,
            "channel": self.channel,
            "destination": self.destination,
            "priority": self.priority,
            "error": self.error,
            "account": self.account,
            "state_now": self.state_now,
            "requeued_as": self.requeued_as,
        }


def _letter(entry: Any, fields: Mapping[Any, Any] | None) -> DeadLetter:
    data = {as_text(k): as_text(v) for k, v in (fields or {}).items()}
    entry_id = as_text(entry)
    return DeadLetter(
        entry=entry_id,
        at=int(entry_id.split("-", 1)[0]) / 1000.0,
        message_id=data.get("id", ""),
        state=data.get("state", ""),
        previous=data.get("previous", ""),
        channel=data.get("channel"),
        destination=data.get("destination"),
        priority=data.get("priority"),
        error=data.get("error"),
        account=data.get("account"),
    )


class DeadLetters:
    """Reads the dead-letter stream of one ledger (its keys), newest first."""

    def __init__(self, redis_client: redis.Redis, *, keys: Keys) -> None:
        self.redis = redis_client
        self.keys = keys

    def count(self) -> int:
        """How many entries the stream holds (resolved ones included)."""
        return int(self.redis.xlen(self.keys.dead_letters))

    def newest(
        self,
        *,
        since: float | None = None,
        limit: int = 50,
        resolved: bool = False,
        page: int = PAGE,
    ) -> list[DeadLetter]:
        """Up to ``limit`` dead letters, newest first, ended at ``since`` (unix seconds) or
        later. A message resolved since (an ``unknown`` a late answer found ``sent``) is left
        out unless ``resolved``. ``page``: entries read per round trip (a reader that shows a
        few, often, reads a few)."""
        low = "-" if since is None else str(max(0, int(since * 1000)))
        found: list[DeadLetter] = []
        high = "+"
        while len(found) < limit:
            entries: Any = self.redis.xrevrange(self.keys.dead_letters, high, low, count=page)
            if not entries:
                break
            letters = self._with_records([_letter(e, f) for e, f in entries])
            found += [x for x in letters if resolved or x.state_now not in RESOLVED]
            if len(entries) < page:
                break
            high = "(" + as_text(entries[-1][0])
        return found[:limit]

    def find(self, message_id: str) -> DeadLetter | None:
        """The dead letter of ``message_id`` (with its record's state now), if it has one."""
        high = "+"
        while True:
            page: Any = self.redis.xrevrange(self.keys.dead_letters, high, "-", count=PAGE) or []
            for entry, fields in page:
                letter = _letter(entry, fields)
                if letter.message_id == message_id:
                    return self._with_records([letter])[0]
            if len(page) < PAGE:
                return None
            high = "(" + as_text(page[-1][0])

    def mark_requeued(self, message_id: str, new_id: str) -> bool:
        """Note on the record that ``new_id`` was sent in its place; ``False`` if it was
        already (another requeue won) or the record is gone."""
        key = self.keys.message(message_id)
        if not self.redis.exists(key):
            return False
        return bool(self.redis.hsetnx(key, "requeued_as", new_id))

    def _with_records(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        pipe = self.redis.pipeline(transaction=False)
        for letter in letters:
            pipe.hmget(self.keys.message(letter.message_id), list(NOW_FIELDS))
        out = []
        for letter, values in zip(letters, pipe.execute(), strict=True):
            state, requeued, pinned, payload = (None if v is None else as_text(v) for v in values)
            out.append(
                replace(
                    letter,
                    state_now=state,
                    requeued_as=requeued,
                    account_pinned=pinned == "1",
                    has_payload=payload is not None,
                )
            )
        return out


def requeue_refusal(letter: DeadLetter | None) -> str | None:
    """Why the message of ``letter`` may not be sent again; ``None`` when it may.

    Only what never reached a provider: ended ``rejected`` or ``failed`` straight from
    ``accepted``/``sending``, still so, no earlier hit that may have gone, its payload kept.
    """
    if letter is None:
        return "no dead letter for it"
    if letter.state == MessageState.UNKNOWN:
        return "it ended unknown: its hit may have reached the provider, it is never sent again"
    if letter.state not in (MessageState.REJECTED, MessageState.FAILED):
        return f"it ended {letter.state}"
    if letter.state_now is None:
        return "its record is gone (past the retention)"
    if letter.state_now != letter.state:
        return f"it is {letter.state_now} now"
    if letter.account_pinned:
        return "an earlier hit of it may have reached the provider"
    if letter.requeued_as:
        return f"it was requeued already, as {letter.requeued_as}"
    if not letter.has_payload:
        return "its payload is no longer kept (a campaign's message keeps its text in the campaign)"
    return None
