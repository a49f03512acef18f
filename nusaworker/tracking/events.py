"""The events stream: every state change and inbound message, in order, for the hooks.

The ledger appends a ``state`` entry in the same atomic step as each move of a record (see
``ledger/lua/transition.lua``); the callback receiver appends ``inbound`` and ``phone_check``
entries; every change of the suppression list appends a ``suppression`` entry. One consumer
group (:data:`GROUP`) reads them and hands each to the user's hooks
(:mod:`nusaworker.tracking.hooks`); an entry is acknowledged only once it was handed on, and
entries a crashed dispatcher had read are handed on by the next run. Delivery to hooks is
therefore *at least once*: a hook deduplicates on ``event_id``.

Every event handed to a hook is a flat JSON object::

    {"event_id": "1712…-0", "type": "state", "message_id": "…", "state": "delivered",
     "previous": "sent", "channel": "wa", "priority": "normal", "ref_no": "…",
     "provider_status": "D", "error": null, "at": 1712000000.123}

    {"event_id": "…", "type": "inbound", "channel": "wa", "provider_id": "…",
     "sender": "62812…", "text": "…", "received_at": "2024-01-31 10:00:00",
     "gateway_number": "…", "room_id": null, "ref_no": null, "at": 1712000000.5}

    {"event_id": "…", "type": "phone_check", "results": [{"phone_number": "…",
     "is_registered": true}], "at": …}

    {"event_id": "…", "type": "suppression", "action": "add", "destination": "62812…",
     "source": "inbound", "note": "STOP", "channel": "wa", "at": …}

    {"event_id": "…", "type": "campaign", "campaign_id": "…", "name": "…",
     "event": "started", "state": "running", "counts": {…}, "at": …}

(A ``state`` event of a campaign's message carries ``campaign``, its id; ``campaign`` events —
accepted, started, paused, resumed, window_closed, window_opened, cancelled, finished — come
from :mod:`nusaworker.campaigns`.)

(``suppression`` entries come from :mod:`nusaworker.suppression`'s Lua function: an inbound
keyword in the inbox store's script, or the CLI/API.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from nusaworker.keys import EVENTS_MAXLEN, Keys
from nusaworker.redis_scripts import as_text

GROUP = "hooks"

Entry = tuple[str, dict[str, Any]]

# Fields of a ``state`` entry, as the ledger's transition script writes them.
_STATE_FIELDS = ("message_id", "state", "previous", "channel", "priority", "ref_no")
_OPTIONAL_FIELDS = ("provider_status", "error", "campaign")


def to_event(entry_id: str, fields: Mapping[Any, Any]) -> dict[str, Any]:
    """The JSON object a hook receives for one stream entry (see the module docstring)."""
    raw = {as_text(k): as_text(v) for k, v in fields.items()}
    kind = raw.get("type", "state")
    event: dict[str, Any] = {"event_id": entry_id, "type": kind}
    if kind == "state":
        for name in _STATE_FIELDS + _OPTIONAL_FIELDS:
            event[name] = raw.get(name)
        event["at"] = float(raw["updated_at"]) if "updated_at" in raw else None
    else:
        event.update(json.loads(raw.get("data", "{}")))
        event["at"] = float(raw["at"]) if "at" in raw else None
    return event


class EventStream:
    """Append to and consume the events stream (one Redis stream, one consumer group)."""

    def __init__(
        self, redis_client: redis.Redis, *, keys: Keys, maxlen: int = EVENTS_MAXLEN
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.maxlen = maxlen
        self._group_ready = False

    def append(self, kind: str, data: Mapping[str, Any], *, at: float) -> str:
        """Append an event of ``kind`` (``inbound``, ``phone_check``) with a JSON payload."""
        fields: dict[Any, Any] = {
            "type": kind,
            "data": json.dumps(data, separators=(",", ":")),
            "at": repr(at),
        }
        entry_id = self.redis.xadd(self.keys.events, fields, maxlen=self.maxlen, approximate=True)
        return as_text(entry_id)

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless they exist."""
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.keys.events, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def read(self, consumer: str, count: int) -> list[Entry]:
        """Up to ``count`` entries for ``consumer``: its unacknowledged ones first, then new.

        One consumer name is used fleet-wide (the dispatcher job runs under a lock), so
        entries a crashed run had read are handed on by the next run.
        """
        self.ensure_group()
        entries: list[Entry] = []
        for start in ("0", ">"):
            found: Any = self.redis.xreadgroup(
                GROUP, consumer, {self.keys.events: start}, count=count - len(entries)
            )
            for _stream, items in found or []:
                entries += [(as_text(i), dict(f)) for i, f in items if f]
            if len(entries) >= count:
                break
        return entries

    def ack(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge entries handed on; the stream keeps them (capped) as a recent log."""
        if entry_ids:
            self.redis.xack(self.keys.events, GROUP, *entry_ids)

    def pending(self) -> int:
        """Entries read but not acknowledged yet."""
        self.ensure_group()
        info: Any = self.redis.xpending(self.keys.events, GROUP)
        return int(info["pending"])

    def backlog(self) -> int:
        """Entries not read by the group yet (Redis ≥ 7: the group's ``lag``), else -1."""
        self.ensure_group()
        groups: Any = self.redis.xinfo_groups(self.keys.events)
        for group in groups:
            name = as_text(group.get("name") or group.get(b"name"))
            if name == GROUP:
                lag = group.get("lag", group.get(b"lag"))
                return -1 if lag is None else int(lag)
        return -1

    def entries(self, start: str = "-", count: int | None = None) -> list[dict[str, Any]]:
        """The events from ``start`` on, as hooks see them (for tools and benchmarks)."""
        found: Any = self.redis.xrange(self.keys.events, min=start, count=count)
        return [to_event(as_text(i), f) for i, f in found if f]
