"""Each alert sink against a real local receiver: an HTTP server and an SMTP server."""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from nusaworker.credit.alerts import Alert, Alerter, AlertKind, Severity
from nusaworker.credit.errors import AlertDeliveryError
from nusaworker.credit.sinks import SIGNATURE_HEADER, SmtpSink, WebhookSink, verify
from nusaworker.testing.receiver import Receiver
from nusaworker.testing.redis_server import free_port

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-for-tests"
ALERT = Alert(
    kind=AlertKind.BALANCE_LOW,
    severity=Severity.WARNING,
    account="nusasms:abc",
    title="wa balance low: 90 (threshold 100)",
    text="The wa balance is 90, below its threshold of 100.",
    details={"balance_type": "wa", "balance": 90.0, "threshold": 100.0},
    at=1_700_000_000.0,
)


@pytest.fixture
def receiver(make_receiver: Callable[..., Receiver]) -> Receiver:
    """The alert endpoint: answers 204 unless a test scripts other statuses first."""
    return make_receiver(status=204)


def test_webhook_sink_posts_the_alert_as_signed_json(receiver: Receiver) -> None:
    WebhookSink(f"{receiver.url}/alerts", secret=SECRET).send(ALERT)

    [post] = receiver.requests
    assert post.method == "POST" and post.path == "/alerts"
    assert post.content_type == "application/json"
    assert verify(SECRET, post.body, post.header(SIGNATURE_HEADER))
    assert not verify("wrong-secret", post.body, post.header(SIGNATURE_HEADER))
    assert post.json() == ALERT.to_dict()
    assert SECRET not in post.body.decode() and SECRET not in str(post.headers)


def test_webhook_sink_retries_a_5xx_then_delivers(receiver: Receiver) -> None:
    receiver.statuses = [503, 502]
    WebhookSink(f"{receiver.url}/alerts", secret=SECRET).send(ALERT)
    assert len(receiver.requests) == 3
    bodies = {post.body for post in receiver.requests}
    assert len(bodies) == 1  # the same alert each time, each attempt signed afresh


def test_webhook_sink_gives_up_on_a_4xx_and_on_a_dead_receiver(receiver: Receiver) -> None:
    receiver.statuses = [400]
    with pytest.raises(AlertDeliveryError, match="HTTP 400"):
        WebhookSink(f"{receiver.url}/alerts", secret=SECRET).send(ALERT)
    assert len(receiver.requests) == 1  # not retried
    dead = f"http://127.0.0.1:{free_port()}/alerts"
    with pytest.raises(AlertDeliveryError, match="ConnectionError"):
        WebhookSink(dead, secret=SECRET, timeout=1.0).send(ALERT)


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def test_smtp_sink_mails_the_alert_to_every_recipient(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    sink = SmtpSink(
        host="127.0.0.1",
        port=port,
        sender="fleet@example.org",
        recipients=["ops@example.org", "oncall@example.org"],
    )
    sink.send(ALERT)

    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "fleet@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "oncall@example.org"]
    message: Message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == "[nusaworker] WARNING: wa balance low: 90 (threshold 100)"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert b"below its threshold of 100" in body and b'"balance_type": "wa"' in body


def test_smtp_sink_failure_is_an_alert_delivery_error_and_the_alerter_carries_on(
    receiver: Receiver,
) -> None:
    dead = SmtpSink(
        host="127.0.0.1", port=free_port(), sender="a@example.org", recipients=["b@example.org"]
    )
    with pytest.raises(AlertDeliveryError, match=r"smtp 127\.0\.0\.1"):
        dead.send(ALERT)
    delivered = Alerter([dead, WebhookSink(f"{receiver.url}/alerts", secret=SECRET)]).send(ALERT)
    assert delivered == ["webhook"] and len(receiver.requests) == 1
