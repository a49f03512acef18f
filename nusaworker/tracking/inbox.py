"""Inbound messages: stored once in the inbox stream and announced to the hooks.

The provider identifies each inbound message (``id`` for WhatsApp and SMS, ``ref_no`` for WA
Official); a push repeated with the same id is stored once (``lua/inbox.lua``). The inbox
stream is capped (:data:`~nusaworker.keys.INBOX_MAXLEN`): it is a buffer for the hooks and a
recent history, not an archive — the backend keeps what it needs from the ``inbound`` events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis

from nusaworker.keys import EVENTS_MAXLEN, INBOX_MAXLEN, INBOX_SEEN_TTL_S, Keys
from nusaworker.redis_scripts import as_text, lua
from nusaworker.tracking.pushes import InboundPush


class InboxStore:
    """The inbox stream of one deployment (key prefix)."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        clock: Callable[[], float] = time.time,
        events_maxlen: int = EVENTS_MAXLEN,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self.events_maxlen = events_maxlen
        self._store = redis_client.register_script(lua("nusaworker.tracking", "inbox"))

    def store(self, inbound: InboundPush) -> bool:
        """Store ``inbound`` unless it was stored before; whether it was new."""
        data = json.dumps(inbound.model_dump(), separators=(",", ":"), ensure_ascii=False)
        entry = self._store(
            keys=[
                self.keys.inbox_seen(inbound.channel, inbound.provider_id),
                self.keys.inbox,
                self.keys.events,
            ],
            args=[INBOX_SEEN_TTL_S, INBOX_MAXLEN, self.events_maxlen, data, repr(self.clock())],
        )
        return entry is not None

    def recent(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest ``count`` inbound messages, newest first."""
        found: Any = self.redis.xrevrange(self.keys.inbox, count=count)
        messages = []
        for entry_id, fields in found:
            decoded = {as_text(k): as_text(v) for k, v in fields.items()}
            message = json.loads(decoded["data"])
            message["inbox_id"] = as_text(entry_id)
            message["at"] = float(decoded["at"])
            messages.append(message)
        return messages
