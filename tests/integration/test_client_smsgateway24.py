"""The SmsGateway24 client against the sandbox, over real sockets on 127.0.0.1: every call,
every refusal, the token renewed once, the image upload, bulk, verbatim statuses, secrets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from nusaworker.errors import ConfigurationError
from nusaworker.providers import (
    NULL_TURN,
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    SmsGateway24Client,
    TransientError,
)
from nusaworker.providers.gate import Priority
from nusaworker.providers.smsgateway24 import BulkItem, Endpoints, Image, SimSlot
from nusaworker.testing.receiver import Receiver
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

EMAIL, PASSWORD = "user@example.com", "pass"  # the sandbox's account "main"
SAMPLE_TOKEN = "df427bfcf113c9a21c67718035076b5b"  # the document's, account "dev"


class RecordingGate:
    """A Gate test double: records every turn taken, never waits."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def acquire(self, account: str, *, priority: Priority = "normal", on_grant: Any = None) -> Any:
        with self._lock:
            self.acquired.append((account, priority))
        return NULL_TURN

    def penalize(self, account: str, seconds: float) -> None:
        pass


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    return make_sandbox(min_interval_ms=50, status_step_s=0.05, fail_rate=0.0, seed=5)


@pytest.fixture
def gate() -> RecordingGate:
    return RecordingGate()


@pytest.fixture
def make_client(box: Any, gate: RecordingGate) -> Iterator[Callable[..., SmsGateway24Client]]:
    made: list[SmsGateway24Client] = []

    def factory(**options: Any) -> SmsGateway24Client:
        settings: dict[str, Any] = {"email": EMAIL, "password": PASSWORD, "gate": gate}
        settings.update(options)
        settings.setdefault("base_url", box.url)
        client = SmsGateway24Client(sleep=lambda s: None, **settings)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., SmsGateway24Client]) -> SmsGateway24Client:
    return make_client()


def _paths(box: Any) -> list[tuple[str, int | None]]:
    return [(h["path"].removeprefix("/getdata/"), h["status"]) for h in box.hits()]


def _phones(box: Any) -> list[int]:
    return [int(d["id"]) for d in box.smsgateway24().devices()]


# ------------------------------------------------------------------------------- every call


def test_client_sg24_logs_in_once_and_sends(
    client: SmsGateway24Client, box: Any, gate: RecordingGate
) -> None:
    phone = _phones(box)[0]
    sent = client.send(["+6281234567", "+6289876543"], "Your code is 1234", priority="otp")
    again = client.send("+6281234567", "Hello", device_id=phone, sim=1, customerid=9)
    assert sent.sms_id and again.sms_id == sent.sms_id + 1
    first, second = box.smsgateway24().messages()
    assert first["sendto"] == "+6281234567,+6289876543" and first["urgent"] == 1
    assert first["device_id"] == phone and first["sim"] == 0  # the account's first phone
    assert (second["urgent"], second["sim"], second["customerid"]) == (0, 1, 9)
    assert _paths(box) == [
        ("gettoken", 200),
        ("getalldevices", 200),
        ("addsms", 200),
        ("addsms", 200),
    ]
    assert client.logins == 1
    # Every hit, the login included, took a turn of this client's account.
    assert gate.acquired == [(client.account, "otp")] * 3 + [(client.account, "normal")]


def test_client_sg24_pinned_device_needs_no_lookup(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    phone = _phones(box)[1]
    client = make_client(device_id=phone, sim=SimSlot.WHATSAPP)
    assert client.pick_device() == (phone, SimSlot.WHATSAPP)
    client.send("+6281234567", "hi")
    assert [p for p, _ in _paths(box)] == ["gettoken", "addsms"]
    assert box.smsgateway24().messages()[0]["sim"] == 3
    assert client.account.endswith(f":{phone}")


def test_client_sg24_status_moves_to_delivered(client: SmsGateway24Client) -> None:
    sent = client.send("+6281234567", "hi")
    status = client.get_status(sent.sms_id)
    assert status.sms_id == sent.sms_id and status.status in (2, 7)
    final = wait_for(lambda: client.get_status(sent.sms_id).state == "delivered", 5, 0.05)
    assert final
    assert client.get_status(sent.sms_id).status_description == "delivered"


@pytest.mark.parametrize(
    ("code", "title", "state"),
    [(42, "waiting for the phone", None), (9, "failed to send", "failed"), (8, "failed", "failed")],
)
def test_client_sg24_status_unknown_codes_kept_verbatim(
    client: SmsGateway24Client, box: Any, code: int, title: str, state: str | None
) -> None:
    sent = client.send("+6281234567", "hi")
    box.smsgateway24().set_status(sent.sms_id, code, title)
    status = client.get_status(sent.sms_id)
    assert (status.status, status.status_description, status.state) == (code, title, state)
    assert not status.known


def test_client_sg24_send_image_multipart(client: SmsGateway24Client, box: Any) -> None:
    image = Image("photo.webp", b"RIFF....WEBPVP8 fake")
    sent = client.send_image("+6281234567", image, sim=SimSlot.WHATSAPP_BUSINESS)
    [message] = box.smsgateway24().messages()
    assert message["id"] == sent.sms_id and message["sim"] == 2
    assert message["image"] == {"file_name": "photo.webp", "bytes": 20}
    assert message["body"].endswith("/photo.webp")
    with_caption = client.send_image("+62812", image, body="look", sim=3)
    assert box.smsgateway24().messages()[1]["id"] == with_caption.sms_id


def test_client_sg24_send_image_refused_on_sms_slot_before_any_hit(
    client: SmsGateway24Client, box: Any
) -> None:
    with pytest.raises(ValueError, match="WhatsApp slot"):
        client.send_image("+62812", Image("a.png", b"png"), device_id=_phones(box)[0])
    assert box.hits() == []


def test_client_sg24_send_bulk(client: SmsGateway24Client, box: Any) -> None:
    phone = _phones(box)[1]
    result = client.send_bulk(
        [
            {"sendto": "015752982212", "body": "Your password is 12345", "urgent": True},
            BulkItem(sendto="+62811", body="Regular", device_id=phone, sim=0, customerid=122),
        ]
    )
    assert result.error == 0 and result.message
    first, second = box.smsgateway24().messages()
    assert (first["urgent"], first["device_id"]) == (1, _phones(box)[0])
    assert (second["device_id"], second["customerid"]) == (phone, 122)
    assert [p for p, _ in _paths(box)] == ["gettoken", "getalldevices", "addalotofsms"]
    with pytest.raises(ValueError):
        client.send_bulk([])


def test_client_sg24_devices_and_messages(client: SmsGateway24Client, box: Any) -> None:
    devices = client.list_devices()
    assert [d.id for d in devices] == _phones(box)
    assert devices[0].slots == [0, 1] and devices[1].slots == [0]
    assert devices[0].subscription is True and devices[0].siminfo[0].country_iso == "id"
    sent = client.send("+6281234567", "hi", customerid=5)
    client.send("+6289999999", "other")
    listed = client.list_messages(customerid=5)
    assert [m.id for m in listed.messages] == [sent.sms_id] and listed.count == 1
    assert client.list_messages(onlycount=True).count == 2
    assert client.list_messages(phone="9999", orderbydesc=True).messages[0].sendto == "+6289999999"


def test_client_sg24_sample_token_and_its_devices(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client(email=None, password=None, token=SAMPLE_TOKEN)
    ids = {d.id for d in client.list_devices()}
    assert {260, 1576, 1297} == ids
    sent = client.send("015752982212", "Test message", device_id=260, sim=1)
    assert box.smsgateway24().messages("dev")[0]["id"] == sent.sms_id
    assert "gettoken" not in [p for p, _ in _paths(box)]


# ----------------------------------------------------------------------------------- tokens


def test_client_sg24_token_renewed_once_after_expiry(client: SmsGateway24Client, box: Any) -> None:
    first = client.send("+6281234567", "one")
    assert box.smsgateway24().expire_tokens() == 1
    status = client.get_status(first.sms_id)
    assert status.sms_id == first.sms_id and client.logins == 2
    assert _paths(box) == [
        ("gettoken", 200),
        ("getalldevices", 200),
        ("addsms", 200),
        ("getsmsstatus", 200),  # refused: the token has expired
        ("gettoken", 200),
        ("getsmsstatus", 200),
    ]
    box.smsgateway24().expire_tokens()
    client.send("+6281234567", "two")  # a refused send is safe to make again: nothing was queued
    assert len(box.smsgateway24().messages()) == 2 and client.logins == 3


def test_client_sg24_token_refused_twice_is_an_auth_error(
    client: SmsGateway24Client, box: Any
) -> None:
    box.smsgateway24().set_token_ttl(0)  # every token is dead on arrival
    with pytest.raises(AuthError, match="has expired") as caught:
        client.list_devices()
    assert [p for p, _ in _paths(box)] == ["gettoken", "getalldevices"] * 2
    assert client.logins == 2
    assert "***" in caught.value.detail  # the sandbox echoes the token; the error does not


def test_client_sg24_given_token_refused_without_login(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client(email=None, password=None, token="f" * 32)
    with pytest.raises(AuthError, match="Wrong token"):
        client.list_devices()
    assert [p for p, _ in _paths(box)] == ["getalldevices"]


def test_client_sg24_http_401_is_a_refused_token(
    make_client: Callable[..., SmsGateway24Client], receiver: Receiver
) -> None:
    # The document names no HTTP statuses; a 401 can only be about the token or the login.
    receiver.status = 401
    given = make_client(base_url=receiver.url, email=None, password=None, token="t" * 32)
    with pytest.raises(AuthError, match="refused the token"):
        given.get_status(1)
    login = make_client(base_url=receiver.url)
    with pytest.raises(AuthError, match="HTTP 401"):
        login.get_status(1)
    assert [r.path for r in receiver.requests] == ["/getdata/getsmsstatus", "/getdata/gettoken"]
    assert "t" * 32 not in receiver.requests[0].path  # the token travels in the body only


def test_client_sg24_wrong_password(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client(password=SecretStr("wrong-password-7f3a"))
    with pytest.raises(AuthError) as caught:
        client.send("+6281234567", "hi", device_id=1)
    assert EMAIL not in str(caught.value) and "***" in str(caught.value)
    assert [p for p, _ in _paths(box)] == ["gettoken"]  # an auth error is never retried


def test_client_sg24_authenticate_and_no_credentials(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client()
    client.authenticate()
    client.authenticate()
    assert client.logins == 2
    bare = make_client(email=None, password=None)
    with pytest.raises(ConfigurationError, match="email and password"):
        bare.list_devices()
    with pytest.raises(ConfigurationError):
        bare.authenticate()
    assert [p for p, _ in _paths(box)] == ["gettoken", "gettoken"]


def test_client_sg24_threads_share_one_login(client: SmsGateway24Client, box: Any) -> None:
    phone = _phones(box)[0]
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            client.send(f"+62812000{n:02d}", "hi", device_id=phone)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == [] and client.logins == 1
    assert len(box.smsgateway24().messages()) == 8


# -------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("call", "cls", "text"),
    [
        (lambda c, b: c.send("+62812", "hi", device_id=999999), PermanentError, "not found"),
        (lambda c, b: c.get_status(5), PermanentError, "Sms 5 not found"),
        (
            lambda c, b: c.send("+62812", "hi", device_id=_phones(b)[1], sim=1),
            PermanentError,
            "no SIM in slot 1",
        ),
    ],
)
def test_client_sg24_refusals_map_to_the_taxonomy(
    client: SmsGateway24Client, box: Any, call: Any, cls: type, text: str
) -> None:
    with pytest.raises(cls, match=text) as caught:
        call(client, box)
    assert type(caught.value) is cls and caught.value.provider_code == 1


def test_client_sg24_lapsed_subscription_is_a_credit_problem(
    client: SmsGateway24Client, box: Any
) -> None:
    phone = _phones(box)[0]
    box.smsgateway24().set_device(phone, subscription=False)
    with pytest.raises(InsufficientCredit, match="subscription"):
        client.send("+62812", "hi", device_id=phone)
    # Without a pinned device, the phone that can still send is picked.
    client.send("+62812", "hi")
    assert box.smsgateway24().messages()[0]["device_id"] == _phones(box)[1]


def test_client_sg24_refused_locally_before_any_hit(client: SmsGateway24Client, box: Any) -> None:
    for bad in (
        lambda: client.send("+62812", "hi", device_id=1, sim=7),
        lambda: client.send("", "hi", device_id=1),
        lambda: client.send("+62812", "", device_id=1),
        lambda: client.send("+62812", "hi", timetosend="tomorrow"),
        lambda: client.get_status(0),
    ):
        with pytest.raises(ValueError):
            bad()
    assert box.hits() == []


# ---------------------------------------------------------------------- faults and secrets


def test_client_sg24_retries_a_read_through_5xx(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client()
    client.authenticate()
    box.set_faults(p_5xx=1.0)
    with pytest.raises(TransientError, match="HTTP 50"):
        client.list_devices()
    assert len(box.hits()) == 1 + client.policy.max_attempts


def test_client_sg24_lost_send_answer_is_ambiguous(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client(device_id=_phones(box)[0])
    client.authenticate()
    box.set_faults(p_drop_after_accept=1.0)
    with pytest.raises(AmbiguousOutcome):
        client.send("+62812", "hi")
    box.set_faults(p_malformed=1.0)
    with pytest.raises(AmbiguousOutcome):
        client.send("+62812", "hi")
    assert len(box.smsgateway24().messages()) == 2  # each was queued; only the answers were lost
    assert [p for p, _ in _paths(box)] == ["gettoken", "addsms", "addsms"]  # never sent twice


def test_client_sg24_custom_endpoints(
    make_client: Callable[..., SmsGateway24Client], box: Any
) -> None:
    client = make_client(endpoints=Endpoints(status="/getdata/no-such-method"))
    with pytest.raises(PermanentError, match="404"):
        client.get_status(1)


def test_client_sg24_secrets_absent_from_reprs_logs_and_errors(
    make_client: Callable[..., SmsGateway24Client], box: Any, caplog: pytest.LogCaptureFixture
) -> None:
    email, password = "ops-7f3a@example.com", "pw-9d1e-do-not-leak"
    box.smsgateway24().set_login("main", email=email, password=password)
    caplog.set_level(logging.DEBUG)
    wrong = make_client(email=email, password=password + "x")
    client = make_client(email=email, password=password)
    texts = [repr(wrong), repr(client)]
    with pytest.raises(AuthError) as refused:
        wrong.authenticate()  # the sandbox echoes the e-mail
    client.authenticate()
    [issued] = box.smsgateway24().tokens()
    box.smsgateway24().set_token_ttl(0)
    box.smsgateway24().expire_tokens()
    with pytest.raises(AuthError) as expired:
        client.list_devices()  # the sandbox echoes the token, twice
    for caught in (refused, expired):
        texts += [str(caught.value), repr(caught.value), caught.value.detail]
        assert "***" in caught.value.detail
    texts += [caplog.text, repr(client._session)]
    for secret in (email, password, issued, *box.smsgateway24().tokens()):
        assert not any(secret in text for text in texts), secret
