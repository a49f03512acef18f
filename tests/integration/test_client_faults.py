"""Every fault class against the sandbox: what is retried, how often, and what is raised.

Retry counts are read from the sandbox's own hit log. A recording Gate proves each attempt takes
its own slot; it can also heal the sandbox on a chosen attempt, which makes "fails, then
succeeds" deterministic without relying on fault probabilities.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from nusaworker.providers import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    NusaSMSClient,
    PermanentError,
    RateLimited,
    TransientError,
)
from nusaworker.providers.gate import Priority
from nusaworker.sandbox import FaultProfile

pytestmark = pytest.mark.integration

KEY_LEAK = "KEY-do-not-leak-4242"
PASSWORD_LEAK = "PW-do-not-leak-7777"


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


def rig(hook: Callable[[int], None] | None = None) -> tuple[RecordingGate, list[float]]:
    """A recording gate (with an optional hook) and a list that collects the client's waits."""
    return RecordingGate(hook), []


@pytest.fixture
def box(make_sandbox: Callable[..., Any]) -> Any:
    return make_sandbox(min_interval_ms=0, enforce_rate=False, seed=11)


def make_client(
    box: Any, gate: RecordingGate, sleeps: list[float], **options: Any
) -> NusaSMSClient:
    defaults: dict[str, Any] = {
        "base_url": box.url,
        "api_key": "test-key",
        "sms_user": "user",
        "sms_password": "pass",
        "gate": gate,
        "sleep": sleeps.append,  # waits are recorded, not slept: the test asserts them
        "read_timeout": 5.0,
    }
    return NusaSMSClient(**{**defaults, **options})


def statuses(box: Any, path_part: str) -> list[int | None]:
    return [h["status"] for h in box.hits() if path_part in h["path"]]


# ------------------------------------------------------------------------------------ 429


def test_client_429_with_retry_after_is_honoured_then_succeeds(box: Any) -> None:
    box.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=2)
    gate, sleeps = rig(heal_at(box, 2))
    with make_client(box, gate, sleeps) as client:
        sent = client.send_whatsapp("6281234567", "hi")
        assert sent.ref_no
        assert statuses(box, "whatsapp/message") == [429, 201]
        assert gate.penalties == [(client.account, 2.0)]
        assert sleeps == [2.0]
        assert len(gate.acquired) == 2


def test_client_429_with_http_date_retry_after(box: Any) -> None:
    box.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=3, retry_after_date=True)
    gate, sleeps = rig(heal_at(box, 2))
    with make_client(box, gate, sleeps) as client:
        client.get_balance()
    assert statuses(box, "balance") == [429, 200]
    assert len(gate.penalties) == 1 and 1.0 <= gate.penalties[0][1] <= 3.0
    assert sleeps == [gate.penalties[0][1]]


def test_client_429_without_retry_after_backs_off_and_penalizes_default(box: Any) -> None:
    box.set_faults(p_429=1.0)
    gate, sleeps = rig(heal_at(box, 3))
    with make_client(box, gate, sleeps, rate_limit_penalty=0.75, backoff_cap=1.0) as client:
        client.send_sms("6281234567", "hello")
        assert statuses(box, "sendsms") == [429, 429, 200]
        assert gate.penalties == [(client.account, 0.75)] * 2
    assert len(sleeps) == 2 and all(0.0 <= s <= 1.0 for s in sleeps)
    assert len(gate.acquired) == 3


def test_client_429_with_retry_after_beyond_budget_stops_at_once(box: Any) -> None:
    box.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=60)
    gate, sleeps = rig()
    with make_client(box, gate, sleeps, max_retry_time=20) as client:
        with pytest.raises(RateLimited) as info:
            client.send_whatsapp("6281234567", "hi")
        assert gate.penalties == [(client.account, 60.0)]
    assert info.value.retry_after == 60.0 and info.value.status_code == 429
    assert statuses(box, "whatsapp") == [429] and sleeps == []


def test_client_429_every_time_gives_up_after_max_attempts(box: Any) -> None:
    box.set_faults(p_429=1.0)
    gate, sleeps = rig()
    with make_client(box, gate, sleeps, max_attempts=4) as client, pytest.raises(RateLimited):
        client.get_whatsapp_status("read")
    assert statuses(box, "whatsapp/status") == [429] * 4
    assert len(gate.acquired) == 4 and len(gate.penalties) == 4 and len(sleeps) == 3


def test_client_really_sleeps_retry_after_between_attempts(box: Any) -> None:
    box.set_faults(p_429=1.0, p_429_retry_after=1.0, retry_after_s=1)
    gate = RecordingGate(heal_at(box, 2))
    with NusaSMSClient(base_url=box.url, api_key="test-key", gate=gate) as client:
        started = time.monotonic()
        client.get_balance()
        elapsed = time.monotonic() - started
    first, second = (h["t"] for h in box.hits())
    assert second - first >= 0.95  # the provider asked for one second
    assert elapsed < 10  # generous: only guards against a runaway wait


# ------------------------------------------------------------------------------------ 5xx


def test_client_5xx_html_is_retried_then_succeeds(box: Any) -> None:
    box.set_faults(p_5xx=1.0)
    gate, sleeps = rig(heal_at(box, 3))
    with make_client(box, gate, sleeps) as client:
        sent = client.send_wa_official_broadcast(
            "6281234567",
            "Ani",
            "65a08d56-a2b9-45f5-98d3-98671e639055",
            "15974c27-3116-49f4-8627-5fc30b0c66d8",
        )
    assert sent.ref_no
    seen = statuses(box, "broadcast")
    assert len(seen) == 3 and set(seen[:2]) <= {500, 502, 503} and seen[2] == 201
    assert len(gate.acquired) == 3 and gate.penalties == []


def test_client_5xx_every_time_raises_transient_after_max_attempts(box: Any) -> None:
    box.set_faults(p_5xx=1.0)
    gate, sleeps = rig()
    with (
        make_client(box, gate, sleeps, max_attempts=3) as client,
        pytest.raises(TransientError) as info,
    ):
        client.send_sms("6281234567", "hello")
    assert "HTML page" in str(info.value)
    assert len(statuses(box, "sendsms")) == 3 == len(gate.acquired)
    assert box.stats()["accepted_sends"] == 0


# ------------------------------------------------------------- lost answers and garbage


@pytest.mark.parametrize(
    ("call", "path_part"),
    [
        (lambda c: c.send_whatsapp("6281234567", "hi"), "whatsapp/message"),
        (lambda c: c.send_sms("6281234567", "hi"), "sendsms/plain"),
        (lambda c: c.send_sms_group("Example", "hi"), "sendsms/group"),
        (
            lambda c: c.send_wa_official_reply("6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f50", text="x"),
            "reply",
        ),
    ],
)
def test_client_drop_after_accept_on_send_is_ambiguous_with_one_hit(
    box: Any, call: Callable[[NusaSMSClient], Any], path_part: str
) -> None:
    box.set_faults(p_drop_after_accept=1.0)
    gate, sleeps = rig()
    with make_client(box, gate, sleeps) as client, pytest.raises(AmbiguousOutcome):
        call(client)
    hits = [h for h in box.hits() if path_part in h["path"]]
    assert len(hits) == 1 and hits[0]["fault"] == "drop" and hits[0]["accepted"] is True
    assert len(gate.acquired) == 1 and sleeps == []


def test_client_read_timeout_after_accept_on_send_is_ambiguous(box: Any) -> None:
    box.set_faults(p_timeout_after_accept=1.0, timeout_sleep_s=2.0)
    gate, sleeps = rig()
    with (
        make_client(box, gate, sleeps, read_timeout=0.3) as client,
        pytest.raises(AmbiguousOutcome, match="read timeout"),
    ):
        client.send_whatsapp("6281234567", "hi")
    assert len(statuses(box, "whatsapp/message")) == 1


def test_client_malformed_answer_on_send_is_ambiguous_not_retried(box: Any) -> None:
    box.set_faults(p_malformed=1.0)
    gate, sleeps = rig()
    with make_client(box, gate, sleeps) as client:
        with pytest.raises(AmbiguousOutcome) as info:
            client.send_whatsapp("6281234567", "hi")
        assert "unreadable" in str(info.value)
        with pytest.raises(AmbiguousOutcome):
            client.send_sms("6281234567", "hi")
    assert len(statuses(box, "whatsapp/message")) == 1
    assert len(statuses(box, "sendsms")) == 1
    assert box.stats()["accepted_sends"] == 2  # both were in fact processed


@pytest.mark.parametrize(
    ("call", "path_part"),
    [
        (lambda c: c.get_balance(), "balance"),
        (lambda c: c.get_wa_official_templates(), "templates"),
        (lambda c: c.get_sms_credits(), "command"),
        (lambda c: c.get_whatsapp_status("delivered"), "whatsapp/status"),
    ],
)
def test_client_malformed_answer_on_read_is_retried(
    box: Any, call: Callable[[NusaSMSClient], Any], path_part: str
) -> None:
    box.set_faults(p_malformed=1.0)
    gate, sleeps = rig(heal_at(box, 2))
    with make_client(box, gate, sleeps) as client:
        assert call(client) is not None
    assert len(statuses(box, path_part)) == 2 == len(gate.acquired)


def test_client_malformed_every_time_on_read_is_transient(box: Any) -> None:
    box.set_faults(p_malformed=1.0)
    gate, sleeps = rig()
    with make_client(box, gate, sleeps, max_attempts=2) as client, pytest.raises(TransientError):
        client.get_account()
    assert len(statuses(box, "auth/api_key")) == 2


# ------------------------------------------------------------- refusals: never retried


def test_client_401_wrong_key_is_auth_error_without_retry(box: Any) -> None:
    gate, sleeps = rig()
    with (
        make_client(box, gate, sleeps, api_key="wrong-key") as client,
        pytest.raises(AuthError) as info,
    ):
        client.send_whatsapp("6281234567", "hi")
    assert info.value.status_code == 401
    assert statuses(box, "whatsapp") == [401] and len(gate.acquired) == 1


def test_client_revoked_key_and_ip_whitelist(box: Any) -> None:
    gate, sleeps = rig()
    with make_client(box, gate, sleeps) as client:
        box.set_account(revoked=True)
        with pytest.raises(AuthError):
            client.get_balance()
        with pytest.raises(AuthError) as sms:
            client.send_sms("6281234567", "hi")
        assert sms.value.provider_code == -5
        box.set_account(revoked=False, ip_whitelisted=False)
        with pytest.raises(AuthError) as forbidden:
            client.get_balance()
        assert forbidden.value.status_code == 403 and "whitelist" in str(forbidden.value)
        with pytest.raises(AuthError) as sms_forbidden:
            client.send_sms("6281234567", "hi")
        assert sms_forbidden.value.provider_code == -40
        assert "IP_ADDRESS_FORBIDDEN" in str(sms_forbidden.value)
    assert len(box.hits()) == 4 == len(gate.acquired)


def test_client_credit_exhausted_is_insufficient_credit_without_retry(box: Any) -> None:
    box.set_balance(wa=0, sms=0)
    gate, sleeps = rig()
    with make_client(box, gate, sleeps) as client:
        with pytest.raises(InsufficientCredit) as wa:
            client.send_whatsapp("6281234567", "hi")
        assert wa.value.status_code == 402
        with pytest.raises(InsufficientCredit) as sms:
            client.send_sms("6281234567", "hi")
        assert sms.value.provider_code == -2 and "NOT_ENOUGH_CREDITS" in str(sms.value)
        box.set_balance(sms=100)
        box.set_account(expired=True)
        with pytest.raises(InsufficientCredit) as expired:
            client.send_sms("6281234567", "hi")
        assert expired.value.provider_code == -7
    assert len(box.hits()) == 3 == len(gate.acquired) and sleeps == []


def test_client_422_is_permanent_with_detail_without_retry(box: Any) -> None:
    gate, sleeps = rig()
    # The client lets any digits-digits group id through (the documents give no lengths); the
    # sandbox, like a provider with rules of its own, wants 6+ and 4+ digits.
    with make_client(box, gate, sleeps) as client, pytest.raises(PermanentError) as info:
        client.send_whatsapp("1-2", "hi", is_group=True)
    assert info.value.status_code == 422
    assert "body.destination" in str(info.value)
    assert statuses(box, "whatsapp/message") == [422] and len(gate.acquired) == 1


def test_client_sms_permanent_codes_keep_their_names(box: Any) -> None:
    gate, sleeps = rig()
    with make_client(box, gate, sleeps) as client:
        with pytest.raises(PermanentError) as bad_number:
            client.send_sms("0812345678", "hi")  # a local number: the provider wants 62...
        assert str(bad_number.value) == (
            "SMS status -13 INVALID_DESTINATION_ADDRESS: Invalid Destination Address"
        )
        with pytest.raises(PermanentError) as no_group:
            client.send_sms_group("NoSuchGroup", "hi")
        assert no_group.value.provider_code == -55
        with pytest.raises(PermanentError) as unknown:
            client.get_sms_delivery_report("123")
        assert unknown.value.provider_code == -31
        with pytest.raises(PermanentError) as not_found:
            client.get_whatsapp_status("NO-SUCH-REF")
        assert not_found.value.status_code == 404
    assert len(box.hits()) == 4 == len(gate.acquired) and sleeps == []


# ------------------------------------------------------------------------------ secrets


def test_client_secrets_never_in_errors_reprs_or_logs(
    box: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gate, sleeps = rig()
    client = make_client(box, gate, sleeps, api_key=KEY_LEAK, sms_password=PASSWORD_LEAK)
    errors: list[BaseException] = []
    with pytest.raises(AuthError) as api:
        client.get_balance()
    errors.append(api.value)
    with pytest.raises(AuthError) as sms:
        client.send_sms("6281234567", "hi")
    errors.append(sms.value)
    box.set_faults(p_5xx=1.0)
    with pytest.raises(TransientError) as failing:
        client.get_sms_credits()
    errors.append(failing.value)
    box.set_faults(p_drop_after_accept=1.0)
    client_ok = make_client(box, gate, sleeps, sms_password="pass", api_key="test-key")
    with pytest.raises(AmbiguousOutcome) as dropped:
        client_ok.send_sms("6281234567", "hi")
    errors.append(dropped.value)
    texts = [repr(client), str(vars(client)), caplog.text]
    for exc in errors:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    joined = "\n".join(texts)
    for secret in (KEY_LEAK, PASSWORD_LEAK):
        assert secret not in joined
    # Each hit is logged at DEBUG with method, path, status, elapsed time and attempt number.
    log = caplog.text
    assert re.search(
        r"hit GET /nusasms_api/1.0/balance status=401 elapsed_ms=[\d.]+ attempt=1", log
    )
    assert re.search(r"hit GET /api/command status=50\d elapsed_ms=[\d.]+ attempt=4", log)
    assert re.search(r"hit POST /api/v3/sendsms/plain status=- error=ConnectionError", log)
    client.close()
    client_ok.close()
