"""Hooks: how the user's backend learns of every state change and inbound message.

Three ways, all fed from the events stream (:mod:`nusaworker.tracking.events`) by the
``nusaworker.status.dispatch_events`` beat job, never from the send path itself — a slow or
broken hook cannot delay a send or a status update:

1. **A Celery signal**, :data:`message_event`, sent in the worker process that runs the
   dispatcher, with ``event=<dict>``. Connect to it in a module the worker imports
   (``celery -A nusaworker worker -I myapp.hooks …``)::

       from nusaworker.tracking.hooks import message_event

       @message_event.connect
       def on_event(sender, event, **kwargs):
           if event["type"] == "state" and event["state"] == "failed": ...

   A receiver that raises is logged and skipped; keep receivers quick (they run inline).

2. **A task of the backend's own**: with ``NUSAWORKER_HOOK_TASK=myapp.tasks.on_message_event``
   (and optionally ``NUSAWORKER_HOOK_QUEUE=myapp``) every event is sent, by name, as
   ``on_message_event(event)`` through the fleet's broker; the backend runs its own worker for it.

3. **A webhook**: with ``NUSAWORKER_WEBHOOK_URL`` (and ``NUSAWORKER_WEBHOOK_SECRET``) every
   event is POSTed as signed JSON by a task of its own (:mod:`nusaworker.tracking.webhook`),
   retried with backoff, failures kept for inspection.

Delivery is at least once and in stream order per dispatch; retries may reorder webhook posts,
so a hook orders by ``at`` and deduplicates on ``event_id``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from celery.utils.dispatch import Signal

from nusaworker.tracking.events import EventStream, to_event

log = logging.getLogger(__name__)

message_event = Signal(name="nusaworker.message_event")
"""Sent with ``event=<dict>`` for every event (see :mod:`nusaworker.tracking.events`)."""

WEBHOOK_TASK = "nusaworker.housekeeping.webhook"
# The one consumer name of the dispatcher job (it runs under a per-run lock).
CONSUMER = "dispatcher"


@dataclass(frozen=True)
class HookTargets:
    """Where events go besides the signal: a backend task by name, and/or the webhook."""

    hook_task: str = ""
    hook_queue: str = ""
    webhook: bool = False


class HookDispatcher:
    """Hands one event to the signal, the backend's task and the webhook task.

    ``send_task`` is a Celery app's ``send_task``. It raising (the broker is down) propagates:
    the event stays unacknowledged and is handed on by the next run.
    """

    def __init__(self, *, targets: HookTargets, send_task: Callable[..., Any]) -> None:
        self.targets = targets
        self.send_task = send_task

    def hand_on(self, event: Mapping[str, Any]) -> None:
        """Give ``event`` to every hook."""
        message_event.send(sender="nusaworker", event=dict(event))
        if self.targets.hook_task:
            self.send_task(
                self.targets.hook_task, args=[dict(event)], queue=self.targets.hook_queue or None
            )
        if self.targets.webhook:
            self.send_task(WEBHOOK_TASK, args=[dict(event)])


def dispatch_events(
    stream: EventStream,
    dispatcher: HookDispatcher,
    *,
    batch: int = 200,
    time_budget_s: float = 0.8,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Hand on events until the stream is drained or ``time_budget_s`` is spent; how many.

    Each batch is acknowledged once handed on; an error stops the run with the rest of the
    batch unacknowledged (the next run starts with them).
    """
    deadline = clock() + time_budget_s
    handed = 0
    while clock() < deadline:
        entries = stream.read(CONSUMER, batch)
        if not entries:
            break
        done: list[str] = []
        try:
            for entry_id, fields in entries:
                dispatcher.hand_on(to_event(entry_id, fields))
                done.append(entry_id)
        finally:
            stream.ack(done)
            handed += len(done)
        if len(entries) < batch:
            break
    return handed
