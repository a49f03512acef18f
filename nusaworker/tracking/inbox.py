"""Inbound messages: stored once in the inbox stream and announced to the hooks.

The provider identifies each inbound message (``id`` for WhatsApp and SMS, ``ref_no`` for WA
Official); a push repeated with the same id is stored once (``lua/inbox.lua``). The inbox
stream is capped (:data:`~nusaworker.keys.INBOX_MAXLEN`): it is a buffer for the hooks and a
recent history, not an archive — the backend keeps what it needs from the ``inbound`` events.

An inbound text that is an opt-out keyword (``STOP`` …) adds its sender to the suppression list,
an opt-in keyword (``START`` …) removes it (:mod:`nusaworker.suppression`). That happens inside
the same script as the store: a message pushed twice is stored, applied and announced once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from nusaworker.keys import EVENTS_MAXLEN, INBOX_MAXLEN, INBOX_SEEN_TTL_S, Keys
from nusaworker.redis_scripts import as_text, lua
from nusaworker.suppression import InvalidNumber, Keywords, entry_json, normalise, script_source
from nusaworker.tracking.pushes import InboundPush

log = logging.getLogger(__name__)


class InboxStore:
    """The inbox stream of one deployment (key prefix).

    ``keywords``: the opt-out and opt-in keywords (default: the settings' defaults, see
    :data:`nusaworker.settings.OPT_OUT_KEYWORDS`).
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        clock: Callable[[], float] = time.time,
        events_maxlen: int = EVENTS_MAXLEN,
        keywords: Keywords | None = None,
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self.events_maxlen = events_maxlen
        self.keywords = keywords or Keywords()
        self._store = redis_client.register_script(
            script_source(lua("nusaworker.tracking", "inbox"))
        )

    def store(self, inbound: InboundPush) -> bool:
        """Store ``inbound`` unless it was stored before; whether it was new. An opt-out or
        opt-in keyword changes the suppression list in the same step."""
        data = json.dumps(inbound.model_dump(), separators=(",", ":"), ensure_ascii=False)
        at = self.clock()
        action, number, meta = "", "", ""
        match = self.keywords.match(inbound.text)
        if match is not None:
            try:
                number = normalise(inbound.sender)
            except InvalidNumber:  # the push model already refuses these; never guess one
                match = None
            else:
                action = match.action
                meta = entry_json("inbound", match.keyword, at, inbound.channel)
        stored: Any = self._store(
            keys=[
                self.keys.inbox_seen(inbound.channel, inbound.provider_id),
                self.keys.inbox,
                self.keys.events,
                self.keys.suppressed,
                self.keys.suppressed_index,
            ],
            args=[
                INBOX_SEEN_TTL_S,
                INBOX_MAXLEN,
                self.events_maxlen,
                data,
                repr(at),
                action,
                number,
                meta,
            ],
        )
        if stored is None:
            return False
        if match is not None and int(stored[1]):
            # The number is masked: a log line is no place for a customer's phone number.
            log.info(
                "%s %s by inbound %s on %s",
                "suppressed" if match.action == "add" else "unsuppressed",
                _masked(number),
                match.keyword,
                inbound.channel,
            )
        return True

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


def _masked(number: str) -> str:
    """``6281234567890`` → ``628******7890``: enough to tell numbers apart in a log."""
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:]
