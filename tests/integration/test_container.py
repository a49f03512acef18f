"""The container: one constructor wires a whole worker process, and tests build it directly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nusaworker.container import Container
from nusaworker.delivery import deliver
from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.settings import Settings

pytestmark = pytest.mark.integration


class Broker:
    """Records what the container hands to the broker (re-enqueued sends, polls, hooks)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, **options: Any) -> None:
        self.sent.append((name, options))


@pytest.fixture
def settings(redis_url: str, key_prefix: str, sandbox: Any) -> Settings:
    return Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        nusasms_base_url=sandbox.url,
        nusasms_api_key="test-key",
        nusasms_sms_user="user",
        nusasms_sms_password="pass",
    )


@pytest.fixture
def container(settings: Settings) -> Iterator[tuple[Container, Broker]]:
    broker = Broker()
    built = Container.build(settings, send_task=broker.send_task)
    yield built, broker
    built.close()


def test_container_wires_one_ledger_one_gate_and_one_account_for_every_part(
    container: tuple[Container, Broker],
) -> None:
    c, _ = container
    assert c.credit.circuit.ledger is c.ledger and c.tracking.ledger is c.ledger
    assert c.credit.board.account == c.client.account
    assert c.tracking.poll_client.account == c.client.account  # polls and sends: one rate clock
    assert c.ledger.keys.prefix == c.settings.key_prefix
    assert c.tracking.is_paused == c.credit.circuit.is_paused


def test_container_delivers_a_message_through_its_own_parts(
    container: tuple[Container, Broker], settings: Settings, sandbox: Any
) -> None:
    c, broker = container
    producer = Producer(ledger=c.ledger, app=_App(broker))
    mid = producer.send_sms("6281234567890", "hello from the container")

    outcome = deliver(
        mid, ledger=c.ledger, client=c.client, rules=c.rules, circuit=c.credit.circuit
    )

    assert outcome.state is MessageState.SENT
    record = c.ledger.get(mid)
    assert sandbox.message(record.ref_no)["destination"] == "6281234567890"
    assert [name for name, _ in broker.sent] == ["nusaworker.send"]


def test_container_resume_reenqueues_held_records_through_its_broker(
    container: tuple[Container, Broker],
) -> None:
    c, broker = container
    producer = Producer(ledger=c.ledger, app=_App(broker))
    c.credit.circuit.pause(["wa"], by="test")
    mid = producer.send_whatsapp("6281234567890", "held")
    outcome = deliver(mid, ledger=c.ledger, client=c.client, circuit=c.credit.circuit)
    assert outcome.held

    resumed = c.credit.circuit.resume(["wa"], by="test")

    assert resumed.requeued == 1
    assert [opts["args"] for name, opts in broker.sent if name == "nusaworker.send"] == [
        [mid],
        [mid],
    ]


class _App:
    """The slice of a Celery app the producer uses, over the recording broker."""

    def __init__(self, broker: Broker) -> None:
        self.send_task = broker.send_task
