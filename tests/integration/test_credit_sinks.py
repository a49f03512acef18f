"""Each alert sink against a real local receiver: an HTTP server and an SMTP server."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from nusaworker.credit.alerts import Alert, Alerter, AlertKind, Severity
from nusaworker.credit.errors import AlertDeliveryError
from nusaworker.credit.sinks import SIGNATURE_HEADER, SmtpSink, WebhookSink, verify
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


class Receiver(ThreadingHTTPServer):
    """Records every POST; answers the queued statuses first, then 204."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts.append((dict(self.headers.items()), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_webhook_sink_posts_the_alert_as_signed_json(receiver: Receiver) -> None:
    WebhookSink(receiver.url, secret=SECRET).send(ALERT)

    [(headers, body)] = receiver.posts
    assert headers["Content-Type"] == "application/json"
    assert verify(SECRET, body, headers[SIGNATURE_HEADER])
    assert not verify("wrong-secret", body, headers[SIGNATURE_HEADER])
    assert json.loads(body) == ALERT.to_dict()
    assert SECRET not in body.decode() and SECRET not in str(headers)


def test_webhook_sink_retries_a_5xx_then_delivers(receiver: Receiver) -> None:
    receiver.statuses = [503, 502]
    WebhookSink(receiver.url, secret=SECRET).send(ALERT)
    assert len(receiver.posts) == 3
    bodies = {body for _, body in receiver.posts}
    assert len(bodies) == 1  # the same alert each time, each attempt signed afresh


def test_webhook_sink_gives_up_on_a_4xx_and_on_a_dead_receiver(receiver: Receiver) -> None:
    receiver.statuses = [400]
    with pytest.raises(AlertDeliveryError, match="HTTP 400"):
        WebhookSink(receiver.url, secret=SECRET).send(ALERT)
    assert len(receiver.posts) == 1  # not retried
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
    delivered = Alerter([dead, WebhookSink(receiver.url, secret=SECRET)]).send(ALERT)
    assert delivered == ["webhook"] and len(receiver.posts) == 1
