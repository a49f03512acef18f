"""Every NusaSMS endpoint through the client, over real HTTP against the sandbox."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nusaworker.providers import (
    InsufficientCredit,
    NusaSMSClient,
    WhatsAppStatus,
)
from nusaworker.providers.gate import Priority
from nusaworker.testing.receiver import Receiver
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

TEMPLATE_ID = "65a08d56-a2b9-45f5-98d3-98671e639055"  # the sandbox's (and documents') ids
CHANNEL_ID = "15974c27-3116-49f4-8627-5fc30b0c66d8"
ROOM_ID = "6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f50"


class RecordingGate:
    """A Gate test double: records every call, never waits."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, str]] = []
        self.penalties: list[tuple[str, float]] = []

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        self.acquired.append((account, priority))

    def penalize(self, account: str, seconds: float) -> None:
        self.penalties.append((account, seconds))


class IntervalGate:
    """A Gate test double that spaces hits ``interval_s`` apart, like the fleet gate does."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval_s
        time.sleep(max(0.0, slot - time.monotonic()))

    def penalize(self, account: str, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    # No gap rule here: these tests are about the endpoints, pacing has its own test below.
    return make_sandbox(min_interval_ms=0, status_step_s=0.05)


@pytest.fixture
def gate() -> RecordingGate:
    return RecordingGate()


@pytest.fixture
def client(box: Any, gate: RecordingGate) -> Iterator[NusaSMSClient]:
    with NusaSMSClient(
        base_url=box.url, api_key="test-key", sms_user="user", sms_password="pass", gate=gate
    ) as made:
        yield made


def _paths(box: Any) -> list[tuple[str, str, int | None]]:
    return [(h["method"], h["path"], h["status"]) for h in box.hits()]


def test_client_account_and_balance(client: NusaSMSClient, box: Any) -> None:
    account = client.get_account()
    assert account.userid == "user" and account.idClient == 501
    balance = client.get_balance()
    assert balance.wa_balance == 1_000_000.0 and balance.sms_balance == 1_000_000.0
    assert str(balance.wa_expired_date) == "2027-12-31"
    assert _paths(box) == [
        ("GET", "/nusasms_api/1.0/auth/api_key", 200),
        ("GET", "/nusasms_api/1.0/balance", 200),
    ]


def test_client_send_whatsapp_and_follow_status(client: NusaSMSClient, box: Any) -> None:
    sent = client.send_whatsapp(
        "+6281234567", "Hello 😀", queue="q1", include_unsubscribe=True, channel=1, timeout=600
    )
    assert sent.ref_no and sent.destination == "6281234567" and sent.queue == "q1"
    recorded = box.message(sent.ref_no)
    assert recorded["text"] == "Hello 😀" and recorded["queue"] == "q1"
    status = client.get_whatsapp_status(sent.ref_no)
    assert status.ref_no == sent.ref_no
    assert isinstance(status.status, WhatsAppStatus)
    final = wait_for(lambda: client.get_whatsapp_status(sent.ref_no).is_final, 5, interval=0.05)
    assert final


def test_client_send_whatsapp_to_group(client: NusaSMSClient, box: Any) -> None:
    sent = client.send_whatsapp("6281234567-1234567890", "hi group", is_group=True)
    assert box.message(sent.ref_no)["is_group"] is True


@pytest.mark.parametrize(
    ("ref_no", "status"),
    [
        ("queued", WhatsAppStatus.QUEUED),
        ("sent", WhatsAppStatus.SENT),
        ("delivered", WhatsAppStatus.DELIVERED),
        ("read", WhatsAppStatus.READ),
        ("aborted", WhatsAppStatus.ABORTED),
        ("failed", WhatsAppStatus.FAILED),
    ],
)
def test_client_whatsapp_status_of_documented_test_ref_nos(
    client: NusaSMSClient, ref_no: str, status: WhatsAppStatus
) -> None:
    assert client.get_whatsapp_status(ref_no).status is status


def test_client_send_whatsapp_media_by_url_and_base64(client: NusaSMSClient, box: Any) -> None:
    by_url = client.send_whatsapp_media(
        "6281234567", media_url="https://example.com/a.png", caption="pic"
    )
    assert by_url.media_url == "https://example.com/a.png" and by_url.caption == "pic"
    data = base64.b64encode(b"%PDF-1.4 tiny").decode()
    inline = client.send_whatsapp_media("6281234567", media_base64=data, file_name="doc.pdf")
    assert box.message(inline.ref_no)["extra"]["ext"] == "pdf"
    assert box.balance()["wa_balance"] == 1_000_000.0 - 4  # media costs 2 credits each


def test_client_send_whatsapp_media_as_the_document_allows(client: NusaSMSClient, box: Any) -> None:
    # No file_name (optional in both editions): the PNG signature names the type.
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 600
    wrapped = base64.encodebytes(png).decode()  # line breaks every 76 characters
    inline = client.send_whatsapp_media("6281234567", media_base64=wrapped)
    view = box.message(inline.ref_no)
    assert view["extra"]["ext"] == "png" and view["extra"]["type_from"] == "media_base64"
    # A URL that does not show its type is the provider's to download and judge.
    by_url = client.send_whatsapp_media("6281234567", media_url="https://cdn.example/f?id=7")
    assert box.message(by_url.ref_no)["extra"]["ext"] is None


def test_client_check_whatsapp_numbers(client: NusaSMSClient, box: Any) -> None:
    result = client.check_whatsapp_numbers(
        ["6281234567", "+6281234560"], callback_url="http://127.0.0.1:9/cb"
    )
    assert result.data is None
    assert _paths(box) == [("POST", "/nusasms_api/1.0/wa_phone_check", 201)]


def test_client_check_whatsapp_numbers_pushes_to_its_default_callback_url(
    box: Any, gate: RecordingGate, receiver: Receiver
) -> None:
    # The URL holds the receiver's secret token: the client keeps it like a password (the
    # fleet never writes it into a payload) and adds it to each check that names none.
    url = f"{receiver.url}/secret-token-0123456789/wa/phone_check"
    with NusaSMSClient(
        base_url=box.url, api_key="test-key", phone_check_callback_url=url, gate=gate
    ) as client:
        client.check_whatsapp_numbers(["6281234567"])
        assert "secret-token" not in repr(client)
    [push] = receiver.wait(lambda requests: len(requests) >= 1)
    assert push.path == "/secret-token-0123456789/wa/phone_check"
    assert push.json()["phone_numbers"][0]["phone_number"] == "6281234567"


def test_client_wa_official_templates_channels_broadcast_reply(
    client: NusaSMSClient, box: Any
) -> None:
    templates = client.get_wa_official_templates()
    assert TEMPLATE_ID in {t.id for t in templates}
    assert all(t.status for t in templates)
    channels = client.get_wa_official_channels()
    assert [c.id for c in channels] == [CHANNEL_ID]
    sent = client.send_wa_official_broadcast(
        "6281234567",
        "Ani",
        TEMPLATE_ID,
        CHANNEL_ID,
        {"body": [{"key": "1", "value": "code", "value_text": "123456"}]},
    )
    recorded = box.message(sent.ref_no)
    assert recorded["channel"] == "wa_official"
    reply = client.send_wa_official_reply(ROOM_ID, text="Thanks!")
    assert box.message(reply.ref_no)["extra"]["room_id"] == ROOM_ID
    image = client.send_wa_official_reply(
        ROOM_ID, type="image", file_url="https://example.com/a.png"
    )
    assert box.message(image.ref_no)["extra"]["type"] == "image"


def test_client_wa_official_reply_uploads_a_file(client: NusaSMSClient, box: Any) -> None:
    # The document's Node.js sample: type image, the file itself, text as its caption.
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 200
    sent = client.send_wa_official_reply(
        ROOM_ID, type="image", file=png, file_name="to-file.png", text="Image caption"
    )
    extra = box.message(sent.ref_no)["extra"]
    assert (extra["type"], extra["file_name"], extra["file_bytes"]) == ("image", "to-file.png", 208)
    assert box.message(sent.ref_no)["text"] == "Image caption"
    # As the fleet keeps it (base64 in a JSON payload), without a name: one is made from the type.
    again = client.send_wa_official_reply(
        ROOM_ID, type="document", file_base64=base64.b64encode(b"%PDF-1.4 x").decode()
    )
    assert box.message(again.ref_no)["extra"]["file_name"] == "file.pdf"


@pytest.mark.parametrize("output", ["json", "xml"])
def test_client_send_sms_reads_json_and_xml(client: NusaSMSClient, box: Any, output: str) -> None:
    sent = client.send_sms("+6281234567", "Kode OTP 123456", otp=True, output=output)
    assert sent.ref_no.isdigit() and sent.destination == "6281234567"
    recorded = box.message(sent.ref_no)
    assert recorded["text"] == "Kode OTP 123456" and recorded["extra"]["otp"] is True
    assert recorded["extra"]["encoding"] == "gsm7"


def test_client_send_sms_sets_unicode_for_emoji(client: NusaSMSClient, box: Any) -> None:
    sent = client.send_sms("6281234567", "Halo 😀")
    recorded = box.message(sent.ref_no)
    assert recorded["extra"]["encoding"] == "ucs2" and recorded["extra"]["segments"] == 1


def test_client_send_sms_group(client: NusaSMSClient, box: Any) -> None:
    sent = client.send_sms_group("Example", "Hello all")
    assert sent.ref_no.startswith("Group-Api-Campaign-") and sent.group == "Example"
    assert box.balance()["sms_balance"] == 1_000_000.0 - 3  # three members, one segment each


def test_client_sms_credits_and_delivery_report(client: NusaSMSClient, box: Any) -> None:
    sent = client.send_sms("6281234567", "hello")
    credits = client.get_sms_credits()
    assert credits.credits == 1_000_000.0 - 1 and credits.type == "sms"
    report = client.get_sms_delivery_report(sent.ref_no)
    assert report.ref_no == sent.ref_no and report.dr_status
    # Credentials went in the form body: the hit log's path (and URL) carry no query at all.
    assert all("?" not in h["path"] for h in box.hits())


def test_client_passes_priority_and_account_to_gate(
    client: NusaSMSClient, gate: RecordingGate
) -> None:
    client.get_balance(priority="bulk")
    client.send_sms("6281234567", "otp 1", otp=True, priority="otp")
    assert gate.acquired == [(client.account, "bulk"), (client.account, "otp")]
    assert client.account.startswith("nusasms:") and "test-key" not in client.account


def test_client_with_a_pacing_gate_never_breaks_the_gap_rule(make_sandbox: Any) -> None:
    box = make_sandbox(min_interval_ms=50, enforce_rate=True)
    with NusaSMSClient(
        base_url=box.url,
        api_key="test-key",
        sms_user="user",
        sms_password="pass",
        gate=IntervalGate(0.065),
    ) as client:
        for i in range(4):
            client.send_whatsapp("6281234567", f"m{i}")
            client.send_sms("6281234567", f"s{i}")  # the SMS login is the same account
    stats = box.stats()
    assert stats["accounts"]["main"]["hits"] == 8
    assert stats["violations"] == 0


def test_client_no_credit_signals_of_the_json_api(client: NusaSMSClient, box: Any) -> None:
    # Documented: the balance answer. Assumed: a send refused with 402 for want of credit.
    assert client.get_balance().standing("wa") == "ok"
    box.set_balance(wa=0)
    assert client.get_balance().standing("wa") == "empty"
    with pytest.raises(InsufficientCredit):
        client.send_whatsapp("6281234567", "hi")
    box.set_balance(wa=10)
    box.set_account(expired=True)
    assert client.get_balance().standing("wa") == "expired"
    with pytest.raises(InsufficientCredit) as expired:
        client.send_whatsapp("6281234567", "hi")
    assert "expired" in str(expired.value)
    # SMS v3's documented codes: -7 BALANCE_EXPIRED on a send.
    with pytest.raises(InsufficientCredit) as sms:
        client.send_sms("6281234567", "hi")
    assert sms.value.provider_code == -7
