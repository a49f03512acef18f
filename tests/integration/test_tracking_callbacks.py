"""The callback receiver over real HTTP, with a real Redis ledger, and the sandbox pushing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.providers import NusaSMSClient
from nusaworker.settings import Settings
from nusaworker.testing.records import sent_record
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.callbacks import CallbackApp
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.inbox import InboxStore
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

S = MessageState
TOKEN = "cb-token-0123456789abcdef"


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def callback_server(redis_url: str, key_prefix: str) -> Iterator[CallbackServer]:
    settings = Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        callback_token=TOKEN,
        callback_max_body_bytes=2048,
    )
    with CallbackServer(create_app(settings)) as server:
        yield server


@pytest.fixture
def base(callback_server: CallbackServer) -> str:
    return f"{callback_server.url}/{TOKEN}"


def _sent(ledger: Ledger, ref_no: str, channel: str = "wa") -> str:
    return sent_record(ledger, ref_no, channel=channel)


def _states(ledger: Ledger) -> list[str]:
    return [e["state"] for e in EventStream(ledger.redis, keys=ledger.keys).entries()]


def test_callbacks_wa_status_push_moves_the_record_at_once(base: str, ledger: Ledger) -> None:
    message_id = _sent(ledger, "NSWA1")

    answer = requests.get(
        f"{base}/wa/status",
        params={
            "ref_no": "NSWA1",
            "status": "D",
            "sent_date": "2024-01-31 10:00:00",
            "err_code": "0",
        },
        timeout=5,
    )

    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "result": "recorded"}
    record = ledger.get(message_id)
    assert record.state is S.DELIVERED
    assert record.provider_status == "D"
    assert ledger.due_for_poll(time.time() + 3600, 10) == []  # polling stops


def test_callbacks_same_push_twice_changes_nothing_the_second_time(
    base: str, ledger: Ledger
) -> None:
    message_id = _sent(ledger, "NSDUP")
    push = {"ref_no": "NSDUP", "status": "R", "sent_date": "", "err_code": "0"}

    first = requests.post(f"{base}/wa/status", params=push, timeout=5)
    updated_at = ledger.get(message_id).updated_at
    second = requests.post(f"{base}/wa/status", params=push, timeout=5)

    assert (first.status_code, second.status_code) == (200, 200)
    assert ledger.get(message_id).state is S.READ
    assert ledger.get(message_id).updated_at == updated_at
    assert _states(ledger) == ["sent", "read"]


def test_callbacks_out_of_order_pushes_never_move_a_record_back(base: str, ledger: Ledger) -> None:
    message_id = _sent(ledger, "NSOOO")

    for status in ("R", "S", "D", "Q"):
        answer = requests.get(
            f"{base}/wa/status", params={"ref_no": "NSOOO", "status": status}, timeout=5
        )
        assert answer.status_code == 200

    record = ledger.get(message_id)
    assert record.state is S.READ
    assert record.provider_status == "R"
    assert _states(ledger) == ["sent", "read"]


def test_callbacks_non_final_and_unknown_codes_are_kept_verbatim(
    base: str, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = _sent(ledger, "NSODD")

    queued = requests.get(f"{base}/wa/status", params={"ref_no": "NSODD", "status": "Q"}, timeout=5)
    assert ledger.get(message_id).provider_status == "Q"
    odd = requests.get(f"{base}/wa/status", params={"ref_no": "NSODD", "status": "ZZ"}, timeout=5)

    assert queued.json()["result"] == "noted"
    assert odd.status_code == 200
    assert odd.json()["result"] == "noted"
    record = ledger.get(message_id)
    assert record.state is S.SENT
    assert record.provider_status == "ZZ"


def test_callbacks_push_before_the_send_is_recorded_is_parked_then_applied(
    base: str, ledger: Ledger
) -> None:
    message_id, _ = ledger.create(MessageRecord(channel="sms", destination="628123"))
    claim = ledger.claim(message_id)
    assert claim.token is not None

    answer = requests.get(
        f"{base}/sms/status", params={"ref_no": "5550001", "status": "DELIVERED"}, timeout=5
    )
    assert answer.json()["result"] == "parked"
    assert ledger.get(message_id).state is S.SENDING

    ledger.begin_hit(message_id, claim.token)
    ledger.mark_sent(message_id, claim.token, "5550001", next_poll_at=time.time() + 5)

    record = ledger.get(message_id)
    assert record.state is S.DELIVERED
    assert record.provider_status == "DELIVERED"


def test_callbacks_wa_official_status_and_sms_failure(base: str, ledger: Ledger) -> None:
    official = _sent(ledger, "OFF1", channel="wa_official")
    sms = _sent(ledger, "777", channel="sms")

    a = requests.post(
        f"{base}/wa_official/status",
        json={"ref_no": "OFF1", "status": "read", "status_date": "2022-08-12 10:22:50"},
        timeout=5,
    )
    b = requests.get(
        f"{base}/sms/status",
        params={"ref_no": "777", "status": "REJECTED", "err_code": "2"},
        timeout=5,
    )

    assert (a.status_code, b.status_code) == (200, 200)
    assert ledger.get(official).state is S.READ
    failed = ledger.get(sms)
    assert failed.state is S.FAILED
    assert failed.provider_status == "REJECTED"
    assert failed.error is not None
    assert "err_code 2" in failed.error


def test_callbacks_inbox_is_stored_once_and_announced(base: str, ledger: Ledger) -> None:
    form = {
        "id": "IN-1",
        "gateway_number": "628111",
        "originator": "6281234567890",
        "receive_date": "2022-08-12 10:50:13",
        "msg": "halo",
    }

    first = requests.post(f"{base}/wa/inbox", data=form, timeout=5)
    again = requests.post(f"{base}/wa/inbox", data=form, timeout=5)
    sms = requests.post(f"{base}/sms/inbox", data={**form, "msg": "sms halo"}, timeout=5)
    official = requests.post(
        f"{base}/wa_official/inbox",
        json={
            "room_id": "room-1",
            "ref_no": "OFFIN1",
            "text": "Pesan inbox",
            "inbox_date": "2022-08-12 10:50:13",
            "sender_number": "628999",
        },
        timeout=5,
    )

    assert [r.json()["result"] for r in (first, again, sms, official)] == [
        "stored",
        "duplicate",
        "stored",
        "stored",
    ]
    inbox = InboxStore(ledger.redis, keys=ledger.keys).recent()
    assert [(m["channel"], m["text"]) for m in inbox] == [
        ("wa_official", "Pesan inbox"),
        ("sms", "sms halo"),
        ("wa", "halo"),
    ]
    events = EventStream(ledger.redis, keys=ledger.keys).entries()
    assert [e["type"] for e in events] == ["inbound"] * 3
    assert events[2]["room_id"] == "room-1"


def test_callbacks_phone_check_result_is_announced(base: str, ledger: Ledger) -> None:
    answer = requests.post(
        f"{base}/wa/phone_check",
        json={"phone_numbers": [{"phone_number": "6281234567890", "is_registered": False}]},
        timeout=5,
    )

    assert answer.status_code == 200
    (event,) = EventStream(ledger.redis, keys=ledger.keys).entries()
    assert event["type"] == "phone_check"
    assert event["results"] == [{"phone_number": "6281234567890", "is_registered": False}]


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
BAD_PUSH = {"ref_no": "NSBAD", "status": "R"}
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", "/wrong-token-0123456789/wa/status", {"params": BAD_PUSH}, 403),
    ("GET", "/wa/status", {"params": BAD_PUSH}, 403),
    ("GET", "/{tok}/wa/nothing", {"params": BAD_PUSH}, 404),
    ("GET", "/{tok}/wa_official/status", {"params": BAD_PUSH}, 405),
    ("GET", "/{tok}/wa/status", {"params": {"ref_no": "NSBAD"}}, 400),
    ("GET", "/{tok}/wa/status", {"params": {"ref_no": "NS BAD!", "status": "R"}}, 400),
    (
        "POST",
        "/{tok}/wa_official/status",
        {"data": "ref_no=NSBAD&status=read", "headers": FORM},
        415,
    ),
    ("POST", "/{tok}/wa_official/status", {"data": b"{broken", "headers": JSON}, 400),
    ("POST", "/{tok}/wa_official/status", {"json": {**BAD_PUSH, "pad": "x" * 4096}}, 413),
    ("POST", "/{tok}/wa/inbox", {"data": {"originator": "628123", "msg": "no id"}}, 400),
]


@pytest.mark.parametrize(("method", "path", "options", "status"), BAD_REQUESTS)
def test_callbacks_bad_or_unauthenticated_requests_get_4xx_and_change_nothing(
    callback_server: CallbackServer,
    ledger: Ledger,
    method: str,
    path: str,
    options: dict[str, Any],
    status: int,
) -> None:
    message_id = _sent(ledger, "NSBAD", channel="wa")
    before = ledger.get(message_id)

    answer = requests.request(
        method, callback_server.url + path.format(tok=TOKEN), timeout=5, **options
    )

    assert answer.status_code == status
    assert answer.json()["ok"] is False
    assert ledger.get(message_id) == before
    assert _states(ledger) == ["sent"]
    assert ledger.redis.exists(ledger.keys.inbox) == 0
    if status == 405:
        assert answer.headers["Allow"] == "POST"


def test_callbacks_health_check_needs_no_token(callback_server: CallbackServer) -> None:
    answer = requests.get(f"{callback_server.url}/healthz", timeout=5)

    assert answer.status_code == 200


def test_callbacks_redis_down_answers_503_so_the_provider_retries(key_prefix: str) -> None:
    dead = redis.Redis(
        host="127.0.0.1",
        port=1,
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )
    keys = Keys(prefix=key_prefix)
    app = CallbackApp(
        ledger=Ledger(dead, keys=keys),
        inbox=InboxStore(dead, keys=keys),
        events=EventStream(dead, keys=keys),
        token=TOKEN,
    )
    with CallbackServer(app) as server:
        answer = requests.get(
            f"{server.url}/{TOKEN}/wa/status", params={"ref_no": "NS1", "status": "D"}, timeout=5
        )

    assert answer.status_code == 503


def test_callbacks_app_refuses_a_short_token(ledger: Ledger) -> None:
    from nusaworker.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        CallbackApp(
            ledger=ledger,
            inbox=InboxStore(ledger.redis, keys=ledger.keys),
            events=EventStream(ledger.redis, keys=ledger.keys),
            token="short",
        )


def test_callbacks_sandbox_pushes_take_records_to_their_final_state(
    make_sandbox: Callable[..., Any], base: str, ledger: Ledger
) -> None:
    box = make_sandbox(status_step_s=0.05, callback_url=base, fail_rate=0.0)
    client = NusaSMSClient(
        base_url=box.url, api_key="test-key", sms_user="user", sms_password="pass"
    )
    ids = {}
    for i in range(3):
        ref = client.send_whatsapp(f"62812000000{i}", f"hi {i}").ref_no
        ids[_sent(ledger, ref, channel="wa")] = "read"
    sms_ref = client.send_sms("6281300000001", "hello").ref_no
    assert sms_ref is not None
    ids[_sent(ledger, sms_ref, channel="sms")] = "delivered"
    box.push_inbox("wa", "6281234567890", "inbound via sandbox")
    box.push_inbox("wa_official", "6281234567891", "official inbound")
    box.push_inbox("sms", "6281234567892", "sms inbound")
    client.close()

    def all_final() -> bool:
        return all(str(ledger.get(i).state) == want for i, want in ids.items())

    assert wait_for(all_final, 10), {i: ledger.get(i).state for i in ids}
    assert box.wait_callbacks(5)
    assert box.stats()["callbacks_failed"] == 0
    inbox = InboxStore(ledger.redis, keys=ledger.keys).recent()
    assert sorted(m["text"] for m in inbox) == [
        "inbound via sandbox",
        "official inbound",
        "sms inbound",
    ]
    assert json.loads(json.dumps(inbox))  # JSON-safe, as hooks receive it


class SlowAnswerClient:
    """The real client, whose answer to a send reaches the worker only once ``hold()`` returns.

    Like a slow network on the way back: the provider has the message (and pushes its
    statuses) well before the worker can record the ref_no.
    """

    def __init__(self, client: NusaSMSClient, hold: Callable[[], None]) -> None:
        self.client = client
        self.hold = hold

    def send_whatsapp(self, destination: str, message: str, **fields: Any) -> Any:
        answer = self.client.send_whatsapp(destination, message, **fields)
        self.hold()
        return answer


def test_callbacks_arriving_before_the_send_records_the_ref_no_are_applied(
    make_sandbox: Callable[..., Any], base: str, ledger: Ledger
) -> None:
    from nusaworker.delivery import deliver

    box = make_sandbox(status_step_s=0.05, callback_url=base, fail_rate=0.0)
    client = NusaSMSClient(
        base_url=box.url, api_key="test-key", sms_user="user", sms_password="pass"
    )
    message_id, _ = ledger.create(
        MessageRecord(
            channel="wa",
            destination="6281200000009",
            payload={"destination": "6281200000009", "message": "early pushes"},
        )
    )
    parked_at_answer: list[int] = []

    def until_every_status_was_pushed() -> None:  # S, D and R, each answered by the receiver
        assert wait_for(lambda: box.stats()["callbacks_sent"] == 3, 10), box.stats()
        parked_at_answer.append(ledger.parked.count())

    slow = SlowAnswerClient(client, hold=until_every_status_was_pushed)
    outcome = deliver(message_id, ledger=ledger, client=slow)  # type: ignore[arg-type]
    client.close()

    assert outcome.state == "sent"
    assert parked_at_answer == [1]  # the pushes came first and were parked
    record = ledger.get(message_id)
    assert record.state is S.READ  # applied by mark_sent
    assert ledger.parked.count() == 0
    assert _states(ledger) == ["sent", "delivered", "read"]


def test_callbacks_wachat_inbox_pushed_by_the_sandbox_is_stored_once(
    base: str, ledger: Ledger, make_sandbox: Any
) -> None:
    box = make_sandbox(min_interval_ms=0, seed=3)
    box.wachat.add_account("wachat", api_key="inbox-key")
    box.set_callback_url(base)

    pushed = box.wachat.push_inbox("6281234500000", "halo dari WAChat", account="wachat")
    assert pushed["pushed"] and box.wait_callbacks()

    inbox = InboxStore(ledger.redis, keys=ledger.keys)
    assert wait_for(lambda: len(inbox.recent()) == 1, 5)
    [message] = inbox.recent()
    assert (message["channel"], message["sender"], message["text"]) == (
        "wachat",
        "6281234500000",
        "halo dari WAChat",
    )
    again = requests.post(f"{base}/wachat/inbox", data=pushed["payload"], timeout=5)
    assert again.json()["result"] == "duplicate"
