"""Queues, routing and priorities: which queue a piece of work goes to, and how urgent it is.

One queue per channel so that a fleet can give each channel (and OTPs above all) its own
capacity; every ``priority="otp"`` message goes onto ``otp`` whatever its channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nusaworker.channels import CHANNELS
from nusaworker.channels import channel as channel_row
from nusaworker.types import PRIORITIES, Priority

__all__ = [
    "BROKER_PRIORITY",
    "CHANNEL_QUEUES",
    "PRIORITIES",
    "QUEUES",
    "SEND_QUEUES",
    "SEND_TASK",
    "Priority",
    "enqueue_send",
    "max_countdown",
    "queue_for",
    "route_task",
]

SEND_TASK = "nusaworker.send"

# Channel of a message record → the queue its send task goes to (the channel table's).
CHANNEL_QUEUES: dict[str, str] = {name: row.queue for name, row in CHANNELS.items()}
SEND_QUEUES: tuple[str, ...] = ("otp", *dict.fromkeys(CHANNEL_QUEUES.values()))
QUEUES: tuple[str, ...] = (*SEND_QUEUES, "status", "housekeeping")

# Redis transport priority (0 = first) inside one queue; see celeryconfig.priority_steps.
BROKER_PRIORITY: dict[str, int] = {"otp": 0, "normal": 3, "bulk": 6}

# No Celery countdown may come near the broker's visibility timeout, or the message would be
# redelivered while it still waits; slower retries belong in the ledger's schedule.
MAX_COUNTDOWN_S = 300


def max_countdown(visibility_timeout_s: float) -> float:
    """The longest countdown that is safe under ``visibility_timeout_s``."""
    return min(MAX_COUNTDOWN_S, visibility_timeout_s / 4)


def queue_for(channel: str, priority: str) -> str:
    """The queue a message of ``channel`` and ``priority`` is sent to."""
    if priority == "otp":
        return "otp"
    return channel_row(channel).queue


def enqueue_send(
    send_task: Callable[..., Any], message_id: str, channel: str, priority: str
) -> None:
    """Hand the ``send`` task of one recorded message to the broker, on its channel's queue
    at its priority. The one way a send is enqueued: producer, replay sweeps, breaker resume.

    ``send_task`` is a Celery app's ``send_task``: routing owns the function, and the features
    that re-enqueue (credit, tracking) are handed it instead of importing the producer.
    """
    send_task(
        SEND_TASK,
        args=[message_id],
        queue=queue_for(channel, priority),
        priority=BROKER_PRIORITY[priority],
    )


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> Any:
    """Celery router: send tasks go where the producer said; the rest by their kind."""
    if options.get("queue"):
        return None  # the producer chose the queue from the record's channel and priority
    if name.startswith("nusaworker.status"):
        return {"queue": "status"}
    if name.startswith("nusaworker.housekeeping"):
        return {"queue": "housekeeping"}
    return None
