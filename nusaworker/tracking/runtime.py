"""The objects delivery tracking shares in one worker process, built once from settings.

Built on top of :func:`nusaworker.runtime.get_runtime` (the same Redis, ledger and pacing
gate as the send tasks), plus a provider client of its own for status polls: it goes through
:class:`~nusaworker.tracking.budget.PollGate` (poll budget, then a ``bulk`` pacing slot) and
retries less than the send client — a poll that fails is simply asked again later.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.producer import enqueue_send
from nusaworker.providers import NusaSMSClient
from nusaworker.routing import BROKER_PRIORITY
from nusaworker.runtime import Runtime, provider_client
from nusaworker.settings import Settings
from nusaworker.tracking.budget import PollBudget, PollGate, polls_per_second
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.hooks import HookDispatcher, HookTargets
from nusaworker.tracking.jobs import JobLocks
from nusaworker.tracking.poller import Poller

POLL_TASK = "nusaworker.status.poll"
# A poll either runs within a few seconds or is retried after its lease; two attempts are
# enough to ride out one dropped connection without holding a thread for long.
POLL_MAX_ATTEMPTS = 2


@dataclass
class Tracking:
    """Everything the tracking tasks need."""

    settings: Settings
    ledger: Ledger
    poller: Poller
    poll_client: NusaSMSClient
    budget: PollBudget
    events: EventStream
    jobs: JobLocks
    dispatcher: HookDispatcher
    webhook_session: requests.Session
    send_task: Callable[..., Any]
    is_paused: Callable[[str], bool]

    @classmethod
    def build(cls, rt: Runtime, send_task: Callable[..., Any]) -> Tracking:
        """Tracking on top of a worker's :class:`~nusaworker.runtime.Runtime`."""
        settings = rt.settings
        keys = rt.ledger.keys
        budget = PollBudget(
            rt.redis,
            rate=polls_per_second(settings.poll_share, settings.min_interval_ms),
            keys=keys,
        )
        poll_client = provider_client(
            settings,
            gate=PollGate(rt.gate, budget),
            max_attempts=POLL_MAX_ATTEMPTS,
            # Same credentials, same pacing account: polls and sends share one rate clock.
            account=rt.client.account,
        )
        targets = HookTargets(
            hook_task=settings.hook_task,
            hook_queue=settings.hook_queue,
            webhook=bool(settings.webhook_url),
        )
        return cls(
            settings=settings,
            ledger=rt.ledger,
            poller=Poller(
                rt.ledger, horizon_s=settings.poll_horizon_s, lease_s=settings.poll_lease_s
            ),
            poll_client=poll_client,
            budget=budget,
            events=EventStream(rt.redis, keys=keys),
            jobs=JobLocks(rt.redis, keys=keys),
            dispatcher=HookDispatcher(targets=targets, send_task=send_task),
            webhook_session=requests.Session(),
            send_task=send_task,
            is_paused=_breaker_is_paused,
        )

    def poll_quota(self, period_s: float) -> int:
        """How many polls one dispatch may hand out: the budget of one period."""
        return math.ceil(self.budget.rate * period_s)

    def enqueue_poll(self, message_id: str, priority: str) -> None:
        """Send one poll task (OTP polls overtake the others on the ``status`` queue)."""
        self.send_task(
            POLL_TASK,
            args=[message_id],
            priority=BROKER_PRIORITY.get(priority, BROKER_PRIORITY["bulk"]),
            # A poll not started within its lease is handed out again by the dispatcher.
            expires=self.settings.poll_lease_s,
        )

    def enqueue_send(self, record: MessageRecord) -> None:
        """Send the ``send`` task of a record again, exactly as the producer does."""
        enqueue_send(self.send_task, record.id, record.channel, record.priority)

    def close(self) -> None:
        self.poll_client.close()
        self.webhook_session.close()


def _breaker_is_paused(channel: str) -> bool:
    """Whether the credit circuit breaker (issue 5, :mod:`nusaworker.credit`) paused ``channel``."""
    from nusaworker.credit.context import get_credit

    return get_credit().circuit.is_paused(channel)


_lock = threading.Lock()
_tracking: Tracking | None = None


def get_tracking() -> Tracking:
    """This worker process's tracking objects, built on first use."""
    global _tracking
    with _lock:
        if _tracking is None:
            from nusaworker.celery import app
            from nusaworker.runtime import get_runtime

            _tracking = Tracking.build(get_runtime(), app.send_task)
        return _tracking
