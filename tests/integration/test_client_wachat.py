"""The WAChat client against the sandbox over real sockets: every endpoint, every documented
answer → its error class, retries that each take a fresh pacing slot, a key that never leaks."""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nusaworker.providers import (
    PROVIDERS,
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    RateLimited,
    TransientError,
    WAChatClient,
    build_client,
)
from nusaworker.providers.gate import Priority
from nusaworker.providers.wachat import WAChatStatus
from nusaworker.sandbox import FaultProfile
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

KEY = "wachat-key-1"
KEY_LEAK = "WACHAT-KEY-do-not-leak-9191"
SENDER = "6281200000001"
DESTINATION = "6281234567890"


class RecordingGate:
    """A Gate test double: records calls, never waits; ``on_acquire(n)`` runs before hit n."""

    def __init__(self, on_acquire: Callable[[int], None] | None = None) -> None:
        self.acquired: list[tuple[str, str]] = []
        self.penalties: list[tuple[str, float]] = []
        self._on_acquire = on_acquire

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        self.acquired.append((account, priority))
        if self._on_acquire is not None:
            self._on_acquire(len(self.acquired))

    def penalize(self, account: str, seconds: float) -> None:
        self.penalties.append((account, seconds))


def heal_at(box: Any, attempt: int) -> Callable[[int], None]:
    """A gate hook that switches the sandbox's faults off just before hit number ``attempt``."""

    def hook(n: int) -> None:
        if n == attempt:
            box.set_faults(FaultProfile())

    return hook


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    made = make_sandbox(min_interval_ms=0, status_step_s=0.05, fail_rate=0.0, seed=13)
    made.wachat.add_account(api_key=KEY)
    return made


@pytest.fixture
def gate() -> RecordingGate:
    return RecordingGate()


def make_client(box: Any, gate: Any, sleeps: list[float] | None = None, **options: Any) -> Any:
    defaults: dict[str, Any] = {
        "base_url": box.url,
        "api_key": KEY,
        "gate": gate,
        "read_timeout": 5.0,
    }
    if sleeps is not None:
        defaults["sleep"] = sleeps.append  # waits are recorded, not slept: the test asserts them
    return WAChatClient(**{**defaults, **options})


@pytest.fixture
def client(box: Any, gate: RecordingGate) -> Iterator[WAChatClient]:
    with make_client(box, gate) as made:
        yield made


# ------------------------------------------------------------------------------ endpoints


def test_client_wachat_account(client: WAChatClient) -> None:
    account = client.get_account()
    assert account.userid == "wachat" and account.idPerson == 1001 and account.idClient == 501


def test_client_wachat_gateway_balance_follows_sends(client: WAChatClient, box: Any) -> None:
    box.wachat.set_sender(SENDER, limit=3)
    before = client.get_gateway_balance(SENDER)
    assert (before.name, before.counter, before.limit, before.remaining) == (SENDER, 0, 3, 3)
    client.send_whatsapp(DESTINATION, "hi", sender=SENDER)
    after = client.get_gateway_balance(SENDER)
    assert after.counter == 1 and after.remaining == 2 and not after.is_exhausted


def test_client_wachat_send_and_follow_status_to_read(client: WAChatClient, box: Any) -> None:
    sent = client.send_whatsapp("+6281234567890", "Halo", queue="device-1", timeout=86400)
    assert sent.ref_no and sent.destination == DESTINATION and sent.queue == "device-1"
    assert sent.sender == SENDER and sent.message == "Halo"
    final = wait_for(
        lambda: (s := client.get_whatsapp_status(sent.ref_no)).is_final and s, timeout=10
    )
    assert final.status is WAChatStatus.READ and final.status.is_delivered
    assert final.read_date is not None and final.sent_date is not None
    assert box.message(sent.ref_no)["queue"] == "device-1"


def test_client_wachat_send_to_group(client: WAChatClient, box: Any) -> None:
    sent = client.send_whatsapp("628123456-1234567", "all", is_group=True)
    assert client.get_whatsapp_status(sent.ref_no).is_group is True


def test_client_wachat_send_media_by_url_and_base64(client: WAChatClient, box: Any) -> None:
    by_url = client.send_whatsapp_media(
        DESTINATION, media_url="https://example.com/a.png", caption="c"
    )
    assert by_url.media_url == "https://example.com/a.png" and by_url.caption == "c"
    data = base64.b64encode(b"%PDF-1.4 tiny").decode()
    inline = client.send_whatsapp_media(DESTINATION, media_base64=data, file_name="doc.pdf")
    assert inline.media_url and inline.media_url.endswith(".pdf")
    status = client.get_whatsapp_status(inline.ref_no)
    assert status.media_url == inline.media_url


def test_client_wachat_aborted_status_is_final_and_failed(make_sandbox: Any) -> None:
    box = make_sandbox(min_interval_ms=0, status_step_s=0.05, fail_rate=1.0)
    box.wachat.add_account(api_key=KEY)
    with make_client(box, RecordingGate()) as client:
        sent = client.send_whatsapp(DESTINATION, "x")
        final = wait_for(
            lambda: (s := client.get_whatsapp_status(sent.ref_no)).is_final and s, timeout=10
        )
    assert final.status is WAChatStatus.ABORTED and final.status.is_failed
    assert final.read_date is None and final.delivered_date is None


def test_client_wachat_passes_priority_and_account_to_gate(
    client: WAChatClient, gate: RecordingGate
) -> None:
    client.get_account(priority="bulk")
    client.get_gateway_balance(SENDER, priority="normal")
    sent = client.send_whatsapp(DESTINATION, "otp 1", priority="otp")
    client.send_whatsapp_media(DESTINATION, media_url="https://e.com/a.png", priority="bulk")
    client.get_whatsapp_status(sent.ref_no, priority="bulk")
    priorities = ["bulk", "normal", "otp", "bulk", "bulk"]
    assert gate.acquired == [(client.account, p) for p in priorities]
    assert client.account.startswith("wachat:") and KEY not in client.account


def test_client_wachat_built_from_the_registry(box: Any) -> None:
    assert PROVIDERS["wachat"].client is WAChatClient
    built = build_client("wachat", base_url=box.url, credentials={"api_key": KEY})
    assert isinstance(built, WAChatClient)
    with built:
        assert built.get_account().idClient == 501


# ------------------------------------------------------------------------- errors


def test_client_wachat_sender_at_its_limit_is_insufficient_credit_without_retry(
    client: WAChatClient, box: Any, gate: RecordingGate
) -> None:
    box.wachat.set_sender(SENDER, limit=1, counter=1)
    with pytest.raises(InsufficientCredit) as info:
        client.send_whatsapp(DESTINATION, "x", sender=SENDER)
    assert info.value.status_code == 402 and SENDER in info.value.detail
    box.wachat.set_sender("6281200000002", limit=0)
    with pytest.raises(InsufficientCredit):
        client.send_whatsapp_media(DESTINATION, media_url="https://e.com/a.png")
    assert len(gate.acquired) == 2 == len(box.hits())
    assert client.get_gateway_balance(SENDER).is_exhausted


@pytest.mark.parametrize("key", ["wrong", "test-key"])  # test-key is NusaSMS's, not WAChat's
def test_client_wachat_refused_key_is_auth_error_without_retry(box: Any, key: str) -> None:
    gate = RecordingGate()
    with make_client(box, gate, api_key=key) as client:
        for call in (client.get_account, lambda: client.send_whatsapp(DESTINATION, "x")):
            with pytest.raises(AuthError) as info:
                call()
            assert info.value.status_code == 403
    assert len(gate.acquired) == 2 == len(box.hits())


def test_client_wachat_revoked_key_is_auth_error(client: WAChatClient, box: Any) -> None:
    box.set_account("wachat", revoked=True)
    with pytest.raises(AuthError, match="revoked"):
        client.get_gateway_balance(SENDER)


def test_client_wachat_unknown_ref_no_and_sender_are_permanent(
    client: WAChatClient, box: Any
) -> None:
    with pytest.raises(PermanentError) as ref:
        client.get_whatsapp_status("no-such-ref")
    with pytest.raises(PermanentError) as sender:
        client.get_gateway_balance("6289999")
    assert ref.value.status_code == 404 == sender.value.status_code
    assert len(box.hits()) == 2


def test_client_wachat_422_is_permanent_with_detail(client: WAChatClient, box: Any) -> None:
    # A sender the account does not have passes the client's checks; the provider refuses it.
    with pytest.raises(PermanentError) as info:
        client.send_whatsapp(DESTINATION, "x", sender="6289999")
    assert info.value.status_code == 422 and "body.sender" in info.value.detail
    assert len(box.hits()) == 1


def test_client_wachat_invalid_input_never_hits(client: WAChatClient, box: Any) -> None:
    with pytest.raises(ValueError, match="destination"):
        client.send_whatsapp("not-a-number", "x")
    with pytest.raises(ValueError, match="media_url or media_base64"):
        client.send_whatsapp_media(DESTINATION)
    with pytest.raises(ValueError, match="ref_no"):
        client.get_whatsapp_status(" ")
    assert box.hits() == []


# ------------------------------------------------------------------------- retries


def test_client_wachat_429_retry_after_takes_a_fresh_slot_then_succeeds(box: Any) -> None:
    box.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=2)
    gate, sleeps = RecordingGate(heal_at(box, 3)), []
    with make_client(box, gate, sleeps) as client:
        sent = client.send_whatsapp(DESTINATION, "hi")
    assert sent.ref_no
    assert [h["status"] for h in box.hits()] == [429, 429, 201]
    assert len(gate.acquired) == 3  # every attempt took its own slot
    assert sleeps == [2.0, 2.0] and gate.penalties == [(gate.acquired[0][0], 2.0)] * 2


def test_client_wachat_429_every_time_is_rate_limited_after_max_attempts(box: Any) -> None:
    box.set_faults(p_429=1.0)
    gate, sleeps = RecordingGate(), []
    with make_client(box, gate, sleeps) as client, pytest.raises(RateLimited):
        client.get_account()
    assert len(box.hits()) == 4 == len(gate.acquired) == len(gate.penalties)


def test_client_wachat_5xx_is_retried_with_fresh_slots(box: Any) -> None:
    box.set_faults(p_5xx=1.0)
    gate, sleeps = RecordingGate(heal_at(box, 2)), []
    with make_client(box, gate, sleeps) as client:
        assert client.send_whatsapp(DESTINATION, "hi").ref_no
    assert [h["status"] for h in box.hits()][-1] == 201 and len(box.hits()) == 2
    assert len(gate.acquired) == 2 and len(sleeps) == 1
    box.set_faults(p_5xx=1.0)
    gate2 = RecordingGate()
    with make_client(box, gate2, []) as client, pytest.raises(TransientError):
        client.get_gateway_balance(SENDER)
    assert len(gate2.acquired) == 4


def test_client_wachat_dropped_send_is_ambiguous_and_not_retried(box: Any) -> None:
    box.set_faults(p_drop_after_accept=1.0)
    gate = RecordingGate()
    with make_client(box, gate, []) as client, pytest.raises(AmbiguousOutcome):
        client.send_whatsapp(DESTINATION, "hi", sender=SENDER)
    assert len(box.hits()) == 1 == len(gate.acquired)
    assert box.wachat.sender(SENDER)["counter"] == 1  # the provider did accept it


def test_client_wachat_malformed_answer_on_read_is_retried(box: Any) -> None:
    box.set_faults(p_malformed=1.0)
    gate = RecordingGate(heal_at(box, 2))
    with make_client(box, gate, []) as client:
        assert client.get_account().idClient == 501
    assert len(box.hits()) == 2 == len(gate.acquired)


# ------------------------------------------------------------------------- secrets


def test_client_wachat_key_never_in_errors_reprs_or_logs(
    box: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gate = RecordingGate()
    errors: list[BaseException] = []
    client = make_client(box, gate, [], api_key=KEY_LEAK)
    with pytest.raises(AuthError) as refused:
        client.get_account()
    errors.append(refused.value)
    box.wachat.add_account("leaky", api_key=KEY_LEAK)
    box.set_faults(p_5xx=1.0)
    with pytest.raises(TransientError) as failing:
        client.get_gateway_balance(SENDER)
    errors.append(failing.value)
    box.set_faults(p_drop_after_accept=1.0)
    with pytest.raises(AmbiguousOutcome) as dropped:
        client.send_whatsapp(DESTINATION, "hi")
    errors.append(dropped.value)
    texts = [repr(client), str(vars(client)), caplog.text]
    for exc in errors:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    assert KEY_LEAK not in "\n".join(texts)
    assert re.search(
        r"hit GET /wachat_api/1.0/auth/api_key status=403 elapsed_ms=[\d.]+", caplog.text
    )
    client.close()


def test_client_wachat_gate_spacing_holds_at_the_sandbox(make_sandbox: Any) -> None:
    # Every hit (reads and sends alike) goes through the gate: a gate that spaces hits 60 ms
    # apart leaves no two hits of the account closer at the sandbox (timing is what is tested).
    class IntervalGate:
        def __init__(self, interval_s: float) -> None:
            self.interval_s, self._next, self._lock = interval_s, 0.0, threading.Lock()

        def acquire(self, account: str, *, priority: Priority = "normal") -> None:
            with self._lock:
                slot = max(time.monotonic(), self._next)
                self._next = slot + self.interval_s
            time.sleep(max(0.0, slot - time.monotonic()))

        def penalize(self, account: str, seconds: float) -> None:
            return None

    box = make_sandbox(min_interval_ms=0)
    box.wachat.add_account(api_key=KEY)
    with make_client(box, IntervalGate(0.06)) as client:
        for i in range(3):
            sent = client.send_whatsapp(DESTINATION, f"m{i}")
            client.get_whatsapp_status(sent.ref_no)
    tally = box.stats()["accounts"]["wachat"]
    assert tally["hits"] == 6 and tally["min_gap_ms"] >= 50
