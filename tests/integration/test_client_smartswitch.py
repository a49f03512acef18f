"""The SmartSwitch client against the sandbox over real sockets: single and multi-destination
sends, partial success, every error the sandbox answers, retries that keep their request_ids,
and credentials that stay out of logs, exceptions and reprs."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import requests

from nusaworker.providers import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    TransientError,
    build_client,
)
from nusaworker.providers.gate import Priority
from nusaworker.providers.smartswitch import SmartSwitchClient, account_fingerprint
from nusaworker.sandbox import FaultProfile

pytestmark = pytest.mark.integration

LOGIN = "LOGIN-do-not-leak-5150"
PASSWORD = "PW-do-not-leak-6161"
CYRILLIC_OK = "\u043e\u043a"


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
    """Switch the sandbox's faults off just before hit number ``attempt``."""

    def hook(n: int) -> None:
        if n == attempt:
            box.set_faults(FaultProfile())

    return hook


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    sandbox = make_sandbox(min_interval_ms=0, enforce_rate=False, seed=5)
    sandbox.smartswitch("carrier", login=LOGIN, password=PASSWORD)
    return sandbox


def make_client(box: Any, gate: RecordingGate | None = None, **options: Any) -> SmartSwitchClient:
    defaults: dict[str, Any] = {
        "base_url": box.url,
        "login": LOGIN,
        "password": PASSWORD,
        "gate": gate or RecordingGate(),
        "sleep": lambda seconds: None,  # waits are not slept: retries are counted, not timed
        "read_timeout": 5.0,
    }
    return SmartSwitchClient(**{**defaults, **options})


def standing(box: Any) -> dict[str, Any]:
    view: dict[str, Any] = box.smartswitch("carrier")
    return view


def statuses(box: Any) -> list[int | None]:
    return [h["status"] for h in box.hits() if h["path"] == "/api/message"]


# ------------------------------------------------------------------------------ sends


def test_client_smartswitch_send_one(box: Any) -> None:
    gate = RecordingGate()
    with make_client(box, gate) as client:
        result = client.send_sms("+12123388100", "Hello", require_dlr=True, priority="otp")
    assert result.ok and result.message_id and result.segments == 1 and result.cost == 1
    assert result.destination == "12123388100"
    assert gate.acquired == [(client.account, "otp")]
    assert client.account == account_fingerprint(box.url, LOGIN)
    [message] = standing(box)["sent"]
    assert message["id"] == result.message_id and message["require_dlr"] is True
    assert message["request_id"] == result.request_id


def test_client_smartswitch_send_many_in_one_hit(box: Any) -> None:
    numbers = [f"1212338{i:04d}" for i in range(50)]
    with make_client(box) as client:
        batch = client.send_sms_batch(numbers, "x" * 200, source_name="Shop")
    assert len(box.hits()) == 1
    assert [r.destination for r in batch] == numbers and batch.all_ok
    assert batch.cost == 100 and {r.segments for r in batch} == {2}
    assert len({r.message_id for r in batch}) == 50
    assert standing(box)["balance"] == 1_000_000.0 - 100
    assert {m["source_name"] for m in standing(box)["sent"]} == {"Shop"}


def test_client_smartswitch_partial_success_returns_each_result(box: Any) -> None:
    box.smartswitch("carrier", fail_destinations=["12123388102"])
    numbers = ["12123388100", "0123456789", "12123388102", "12123388103"]
    with make_client(box) as client:
        batch = client.send_sms_batch(numbers, "hello", request_ids=["a", "b", "c", "d"])
    assert [r.status for r in batch] == ["ok", "error", "error", "ok"]
    assert [r.request_id for r in batch] == ["a", "b", "c", "d"]
    assert batch.results[1].error_code == "destination_number"
    assert batch.results[2].error_code == "rejected"
    assert batch.results[2].error_title == "Destination rejected"
    assert isinstance(batch.results[2].error(), PermanentError)
    assert batch.cost == 2 and len(batch.sent) == 2 and len(batch.failed) == 2
    assert [m["destination_number"] for m in standing(box)["sent"]] == [
        "12123388100",
        "12123388103",
    ]


def test_client_smartswitch_cyrillic_ok_is_ok(box: Any) -> None:
    box.smartswitch("carrier", ok_spelling="cyrillic")
    with make_client(box) as client:
        result = client.send_sms("12123388100", "hi")
    assert result.status == "ok" and result.message_id


def test_client_smartswitch_stealth_ping_without_body(box: Any) -> None:
    with make_client(box) as client:
        result = client.send_sms("12123388100", None, stealth_ping=True, require_dlr=True)
    assert result.ok
    assert standing(box)["sent"][0]["stealth_ping"] is True


def test_client_smartswitch_unicode_body_travels_intact(box: Any) -> None:
    text = "Привет & добро пожаловать? #1 = 100%"
    with make_client(box) as client:
        result = client.send_sms("12123388100", text)
    assert standing(box)["sent"][0]["body"] == text and result.segments == 1


# ----------------------------------------------------------------------------- errors


def test_client_smartswitch_wrong_password_is_auth_error_not_retried(box: Any) -> None:
    gate = RecordingGate()
    with make_client(box, gate, password="wrong") as client, pytest.raises(AuthError) as info:
        client.send_sms("12123388100", "hi")
    assert info.value.status_code == 401 and "Please check your login" in str(info.value)
    assert statuses(box) == [401] and len(gate.acquired) == 1


def test_client_smartswitch_balance_is_insufficient_credit(box: Any) -> None:
    box.smartswitch("carrier", balance=0)
    with make_client(box) as client, pytest.raises(InsufficientCredit, match="Insufficient"):
        client.send_sms("12123388100", "hi")
    assert statuses(box) == [200] and standing(box)["sent"] == []


def test_client_smartswitch_balance_running_out_mid_batch(box: Any) -> None:
    box.smartswitch("carrier", balance=2)
    with make_client(box) as client:
        batch = client.send_sms_batch(["12123388100", "12123388101", "12123388102"], "hi")
    assert [r.status for r in batch] == ["ok", "ok", "error"]
    assert isinstance(batch.results[2].error(), InsufficientCredit)


@pytest.mark.parametrize(
    ("number", "code"), [("0123456789", "destination_number"), ("12123388109", "rejected")]
)
def test_client_smartswitch_refused_destination_raises_permanent(
    box: Any, number: str, code: str
) -> None:
    box.smartswitch("carrier", fail_destinations=["12123388109"])
    with make_client(box) as client, pytest.raises(PermanentError, match=code):
        client.send_sms(number, "hi")


def test_client_smartswitch_5xx_is_retried_with_the_same_request_ids(box: Any) -> None:
    box.set_faults(p_5xx=1.0)
    gate = RecordingGate(heal_at(box, 3))
    with make_client(box, gate) as client:
        batch = client.send_sms_batch(["12123388100", "12123388101"], "hi")
    assert statuses(box)[-1] == 200 and len(statuses(box)) == 3
    ids = [r.request_id for r in batch]
    assert standing(box)["received"] == [ids, ids, ids]
    assert len(standing(box)["sent"]) == 2


def test_client_smartswitch_429_is_retried_penalized_same_request_id(box: Any) -> None:
    box.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=1)
    gate = RecordingGate(heal_at(box, 2))
    with make_client(box, gate) as client:
        result = client.send_sms("12123388100", "hi")
    assert statuses(box) == [429, 200]
    assert gate.penalties == [(client.account, 1.0)]
    assert standing(box)["received"] == [[result.request_id]] * 2


def test_client_smartswitch_5xx_every_time_is_transient_after_max_attempts(box: Any) -> None:
    box.set_faults(p_5xx=1.0)
    with make_client(box, max_attempts=3) as client, pytest.raises(TransientError):
        client.send_sms("12123388100", "hi")
    assert len(statuses(box)) == 3 and len({tuple(r) for r in standing(box)["received"]}) == 1


def test_client_smartswitch_dropped_after_accept_is_ambiguous_then_replay_is_safe(
    box: Any,
) -> None:
    box.set_faults(p_drop_after_accept=1.0)
    with make_client(box) as client:
        with pytest.raises(AmbiguousOutcome):
            client.send_sms_batch(["12123388100", "12123388101"], "hi", request_ids=["m1", "m2"])
        assert statuses(box) == [0]  # never retried by the client: it may have been sent
        box.set_faults(FaultProfile())
        # The caller (the ledger) re-sends with the same ids; the sandbox answers from memory.
        again = client.send_sms_batch(
            ["12123388100", "12123388101"], "hi", request_ids=["m1", "m2"]
        )
    assert again.all_ok
    sent = standing(box)["sent"]
    assert len(sent) == 2 and [r.message_id for r in again] == [m["id"] for m in sent]
    assert standing(box)["balance"] == 1_000_000.0 - 2


def test_client_smartswitch_malformed_answer_is_ambiguous(box: Any) -> None:
    box.set_faults(p_malformed=1.0)
    with make_client(box) as client, pytest.raises(AmbiguousOutcome, match="unreadable"):
        client.send_sms("12123388100", "hi")
    assert len(statuses(box)) == 1


# ------------------------------------------------------------------- no credentials leak


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _all_text(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        parts += [repr(cause), str(cause), repr(getattr(cause, "request", None))]
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


def test_client_smartswitch_credentials_absent_from_logs_errors_and_reprs(
    box: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with make_client(box) as client:
        client.send_sms_batch(["12123388100", "12123388101"], "hi")
        texts += [repr(client), str(vars(client))]
        box.set_faults(p_5xx=1.0)
        with pytest.raises(TransientError) as failed:
            client.send_sms("12123388100", "hi")
        texts.append(_all_text(failed.value))
        box.set_faults(p_drop_after_accept=1.0)
        with pytest.raises(AmbiguousOutcome) as dropped:
            client.send_sms("12123388100", "hi")
        texts.append(_all_text(dropped.value))
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    with make_client(box, base_url=nowhere) as refused, pytest.raises(TransientError) as info:
        refused.send_sms("12123388100", "hi")
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    texts.append(_all_text(info.value))
    assert "_password=***" in texts[-1]  # the URL is still there to debug with, redacted
    assert getattr(info.value.__cause__, "request", None) is None
    texts.append(caplog.text)
    assert "urllib3.connectionpool" in caplog.text  # urllib3 did log its request lines
    for text in texts:
        assert PASSWORD not in text and LOGIN not in text


def test_client_smartswitch_built_through_the_registry(box: Any) -> None:
    with build_client(
        "smartswitch",
        base_url=box.url,
        credentials={"login": LOGIN, "password": PASSWORD},
        connect_timeout=2.0,
        read_timeout=5.0,
    ) as client:
        assert isinstance(client, SmartSwitchClient)
        assert client.send_sms("12123388100", "hi").ok
