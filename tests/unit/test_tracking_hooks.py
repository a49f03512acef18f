"""Handing events to the hooks: the signal, the backend's task, the webhook task (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from nusaworker.tracking.events import to_event
from nusaworker.tracking.hooks import WEBHOOK_TASK, HookDispatcher, HookTargets, message_event

EVENT = {"event_id": "1-0", "type": "state", "message_id": "m1", "state": "delivered"}


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any], dict[str, Any]]] = []

    def send_task(self, name: str, args: list[Any], **options: Any) -> None:
        self.sent.append((name, args, options))


def test_hook_dispatcher_sends_the_signal_with_the_event() -> None:
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, event: dict[str, Any], **kwargs: Any) -> None:
        seen.append(event)

    message_event.connect(receiver)
    try:
        HookDispatcher(targets=HookTargets(), send_task=RecordingBroker().send_task).hand_on(EVENT)
    finally:
        message_event.disconnect(receiver)

    assert seen == [EVENT]


def test_hook_dispatcher_survives_a_receiver_that_raises() -> None:
    broker = RecordingBroker()

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("user bug")

    message_event.connect(broken)
    try:
        dispatcher = HookDispatcher(
            targets=HookTargets(hook_task="app.on_event", webhook=True), send_task=broker.send_task
        )
        dispatcher.hand_on(EVENT)
    finally:
        message_event.disconnect(broken)

    assert [name for name, _, _ in broker.sent] == ["app.on_event", WEBHOOK_TASK]


def test_hook_dispatcher_sends_the_backend_task_by_name_on_its_queue() -> None:
    broker = RecordingBroker()
    targets = HookTargets(hook_task="myapp.tasks.on_message_event", hook_queue="myapp")

    HookDispatcher(targets=targets, send_task=broker.send_task).hand_on(EVENT)

    assert broker.sent == [("myapp.tasks.on_message_event", [EVENT], {"queue": "myapp"})]


def test_hook_dispatcher_sends_nothing_but_the_signal_when_nothing_is_configured() -> None:
    broker = RecordingBroker()

    HookDispatcher(targets=HookTargets(), send_task=broker.send_task).hand_on(EVENT)

    assert broker.sent == []


def test_hook_dispatcher_propagates_a_broker_failure() -> None:
    def down(name: str, args: list[Any], **options: Any) -> None:
        raise ConnectionError("broker down")

    dispatcher = HookDispatcher(targets=HookTargets(webhook=True), send_task=down)

    with pytest.raises(ConnectionError):
        dispatcher.hand_on(EVENT)


def test_to_event_flattens_a_state_entry() -> None:
    fields = {
        b"type": b"state",
        b"message_id": b"m1",
        b"state": b"read",
        b"previous": b"delivered",
        b"channel": b"wa",
        b"priority": b"otp",
        b"ref_no": b"NS1",
        b"provider_status": b"R",
        b"updated_at": b"1700000000.5",
    }

    event = to_event("5-0", fields)

    assert event == {
        "event_id": "5-0",
        "type": "state",
        "message_id": "m1",
        "state": "read",
        "previous": "delivered",
        "channel": "wa",
        "priority": "otp",
        "ref_no": "NS1",
        "provider_status": "R",
        "error": None,
        "campaign": None,  # a campaign's message names its campaign
        "at": 1700000000.5,
    }


def test_to_event_unpacks_an_inbound_entry() -> None:
    fields = {"type": "inbound", "data": '{"channel":"sms","text":"hi"}', "at": "12.0"}

    assert to_event("6-0", fields) == {
        "event_id": "6-0",
        "type": "inbound",
        "channel": "sms",
        "text": "hi",
        "at": 12.0,
    }
