"""Messages the sandbox accepted, and how their status moves with time.

A message's whole life is fixed when it is accepted: its *path* of statuses (e.g. WhatsApp
``Q → S → D → R``). Its current status is a pure function of the time since acceptance: one
step per ``status_step_s``. A fraction of messages (``fail_rate``, ~5% by default) end badly
instead (``A``/``F`` for WhatsApp, ``failed`` for WA Official, ``FAILED``/``REJECTED`` for SMS),
chosen deterministically from a hash of the ref_no so a given ref_no always ends the same way.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

WA_PATH = ("Q", "S", "D", "R")
WA_ABORTED = ("Q", "A")
WA_FAILED = ("Q", "S", "F")
WA_TIMED_OUT = ("Q", "F")
OFFICIAL_PATH = ("queued", "sent", "delivered", "read")
OFFICIAL_FAILED = ("queued", "sent", "failed")
SMS_PATH = ("QUEUED", "SENT", "DELIVERED")
SMS_FAILED = ("QUEUED", "SENT", "FAILED")
SMS_REJECTED = ("QUEUED", "REJECTED")


def ends_badly(ref_no: str, fail_rate: float) -> tuple[bool, int]:
    """``(fails, variant)`` for ``ref_no``: a stable hash decides, not the sandbox's RNG."""
    digest = int.from_bytes(hashlib.sha256(ref_no.encode()).digest()[:8], "big")
    return (digest % 10_000) < fail_rate * 10_000, (digest >> 32) & 1


def plan_path(
    channel: str, ref_no: str, *, fail_rate: float, timeout_s: float | None, step_s: float
) -> tuple[str, ...]:
    """The statuses a message will go through, decided at acceptance."""
    fails, variant = ends_badly(ref_no, fail_rate)
    if channel == "wa":
        # A WhatsApp message still queued when its own timeout runs out fails (per the docs).
        if timeout_s is not None and 0 < timeout_s < step_s:
            return WA_TIMED_OUT
        if fails:
            return WA_ABORTED if variant else WA_FAILED
        return WA_PATH
    if channel == "wa_official":
        return OFFICIAL_FAILED if fails else OFFICIAL_PATH
    if fails:
        return SMS_REJECTED if variant else SMS_FAILED
    return SMS_PATH


def format_iso(wall: float) -> str:
    """``2019-08-24T14:15:22Z`` (UTC), the date-time shape of the JSON API."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def format_plain(wall: float) -> str:
    """``2022-08-12 10:22:50`` (UTC), the date shape of callbacks and SMS answers."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))


@dataclass
class Message:
    """One accepted message (any channel) with its planned status path."""

    ref_no: str
    account: str
    channel: str  # "wa" | "wa_official" | "sms"
    kind: str  # "message" | "media" | "broadcast" | "reply" | "sms" | "sms_group"
    destination: str
    cost: float
    created: float  # time.monotonic() at acceptance
    created_wall: float  # time.time() at acceptance, for the dates the API reports
    path: tuple[str, ...]
    step_s: float
    sender: str | None = None
    queue: str | None = None
    is_group: bool = False
    text: str | None = None
    caption: str | None = None
    media_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    reported: int = 0  # index in ``path`` of the last status pushed to the callback URL
    # The status at which the provider gives the cost back (WhatsApp ``F``: "WA Credit
    # deduction will be reverted"); None: never. Settled by ``SandboxState.settle``.
    refund_on: str | None = None
    refunded: bool = False

    @property
    def wallet(self) -> str:
        """The wallet its cost came from (``"sms"`` or ``"wa"``)."""
        return "sms" if self.channel == "sms" else "wa"

    def index_at(self, now: float) -> int:
        """Index in ``path`` of the status at monotonic time ``now``."""
        if self.step_s <= 0:
            return len(self.path) - 1
        steps = math.floor(max(0.0, now - self.created) / self.step_s)
        return min(steps, len(self.path) - 1)

    def status_at(self, now: float) -> str:
        """The status at monotonic time ``now``."""
        return self.path[self.index_at(now)]

    def is_final(self, now: float) -> bool:
        """True once the message has reached the end of its path."""
        return self.index_at(now) == len(self.path) - 1

    def step_wall(self, index: int) -> float:
        """Wall-clock time at which step ``index`` of the path is (or will be) reached."""
        return self.created_wall + index * max(self.step_s, 0.0)

    def reached_wall(self, status: str, now: float) -> float | None:
        """Wall time ``status`` was reached, or ``None`` if the message has not reached it."""
        current = self.index_at(now)
        for index, step in enumerate(self.path[: current + 1]):
            if step == status:
                return self.step_wall(index)
        return None

    def view(self, now: float) -> dict[str, Any]:
        """Internal view for the control surface (``GET /_sandbox/messages/{ref_no}``)."""
        return {
            "ref_no": self.ref_no,
            "account": self.account,
            "channel": self.channel,
            "kind": self.kind,
            "destination": self.destination,
            "sender": self.sender,
            "queue": self.queue,
            "is_group": self.is_group,
            "text": self.text,
            "caption": self.caption,
            "media_url": self.media_url,
            "cost": self.cost,
            "created": self.created,
            "status": self.status_at(now),
            "path": list(self.path),
            "extra": dict(self.extra),
        }
