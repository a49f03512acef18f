"""The objects delivery tracking shares in one worker process, built by the container.

Built on the send path's Redis, ledger and pacing gate (:mod:`nusaworker.container`), plus a
provider client of its own for status polls: it goes through
:class:`~nusaworker.tracking.budget.PollGate` (poll budget, then a ``bulk`` pacing slot) and
retries less than the send client — a poll that fails is simply asked again later.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import requests

from nusaworker.accounts import Account
from nusaworker.factories import account_client, provider_client
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.providers import Gate, NusaSMSClient
from nusaworker.routing import BROKER_PRIORITY, enqueue_send
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
    # Per account (its name in the settings): the client that polls the messages it sent.
    poll_clients: dict[str, Any]

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        redis_client: redis.Redis,
        ledger: Ledger,
        gate: Gate,
        account: str,
        send_task: Callable[..., Any],
        is_paused: Callable[[str], bool],
        accounts: dict[str, tuple[Account, Gate, str]] | None = None,
    ) -> Tracking:
        """Tracking on the send path's Redis, ledger and gate; ``account`` is the send
        client's pacing fingerprint (polls and sends share one rate clock), ``is_paused`` the
        channel guard of the credit breakers (a replay skips a paused channel); ``accounts``:
        every account's (account, gate, pacing fingerprint), each polled by its own client."""
        budget = PollBudget(
            redis_client,
            rate=polls_per_second(settings.poll_share, settings.min_interval_ms),
            keys=ledger.keys,
        )
        poll_client = provider_client(
            settings,
            gate=PollGate(gate, budget),
            max_attempts=POLL_MAX_ATTEMPTS,
            account=account,
        )
        poll_clients: dict[str, Any] = {
            name: account_client(
                settings,
                account,
                gate=PollGate(account_gate, budget),
                max_attempts=POLL_MAX_ATTEMPTS,
                account=fingerprint,
            )
            for name, (account, account_gate, fingerprint) in (accounts or {}).items()
        }
        targets = HookTargets(
            hook_task=settings.hook_task,
            hook_queue=settings.hook_queue,
            webhook=bool(settings.webhook_url.get_secret_value()),
        )
        return cls(
            settings=settings,
            ledger=ledger,
            poller=Poller(ledger, horizon_s=settings.poll_horizon_s, lease_s=settings.poll_lease_s),
            poll_client=poll_client,
            budget=budget,
            events=EventStream(redis_client, keys=ledger.keys),
            jobs=JobLocks(redis_client, keys=ledger.keys),
            dispatcher=HookDispatcher(targets=targets, send_task=send_task),
            webhook_session=requests.Session(),
            send_task=send_task,
            is_paused=is_paused,
            poll_clients=poll_clients,
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

    def client_for(self, account: str | None) -> Any:
        """The client that polls a message sent by ``account`` (the default one's if unknown)."""
        return self.poll_clients.get(account or "", self.poll_client)

    def close(self) -> None:
        self.poll_client.close()
        for client in self.poll_clients.values():
            client.close()
        self.webhook_session.close()
