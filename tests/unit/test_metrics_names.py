"""Names and labels of the metrics: the broker lists a queue depth reads, the outcome of a
delivery attempt, the receiver's route label (never the token)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kombu.transport.redis import Channel

import celeryconfig
from nusaworker.ledger import MessageState
from nusaworker.metrics.fleet import priority_lists
from nusaworker.metrics.instruments import outcome_label
from nusaworker.metrics.wsgi import MeteredApp


def _kombu_list(queue: str, priority: int, steps: list[int], sep: str) -> str:
    """The list kombu's Redis transport pushes a message of ``priority`` to."""
    channel: Any = SimpleNamespace(sep=sep, priority_steps=steps)
    channel.priority = lambda n: Channel.priority(channel, n)
    return str(Channel._q_for_pri(channel, queue, priority))


@pytest.mark.parametrize("sep", [celeryconfig.broker_transport_options["sep"], "\x06\x16"])
def test_priority_lists_are_the_lists_kombu_writes(sep: str) -> None:
    steps = celeryconfig.broker_transport_options["priority_steps"]
    lists = dict(priority_lists("wa", steps, sep))
    for priority in range(10):
        assert _kombu_list("wa", priority, steps, sep) in lists.values()
    assert lists[0] == "wa"
    assert lists[6] == f"wa{sep}6"


@pytest.mark.parametrize(
    ("state", "retry_at", "held", "label"),
    [
        (MessageState.SENT, None, False, "sent"),
        (MessageState.ACCEPTED, 12.0, False, "retry"),
        (MessageState.ACCEPTED, None, True, "held"),
        (MessageState.REJECTED, None, False, "rejected"),
        (MessageState.SENDING, None, False, "moved_on"),
        (None, None, False, "unreadable"),
    ],
)
def test_outcome_label_of_each_delivery_answer(
    state: MessageState | None, retry_at: float | None, held: bool, label: str
) -> None:
    assert outcome_label(state, retry_at=retry_at, held=held) == label


def test_receiver_route_label_drops_the_token() -> None:
    app = MeteredApp(lambda environ, start: [b""], routes={"wa/status", "sms/inbox"})
    token = "tok-0123456789abcdef"
    assert app.route_of(f"/{token}/wa/status") == "wa/status"
    assert app.route_of(f"/{token}/sms/inbox/") == "sms/inbox"
    assert app.route_of(f"/{token}/nope") == "other"
    assert app.route_of(f"/{token}") == "other"
    assert app.route_of("/healthz") == "healthz"
