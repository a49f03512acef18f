"""Every client method of every provider against a sandbox that answers garbage, over real HTTP.

The property: a call returns a result or raises an error of the taxonomy
(:mod:`nusaworker.providers.errors`) — never a ``KeyError``, ``TypeError``, ``ValueError``,
``JSONDecodeError``, ``UnicodeDecodeError``, ``RecursionError`` or pydantic error — and it
returns in bounded time, whatever the answer: wrong types, truncated, HTML, several MB, not HTTP
at all (the kinds of :mod:`nusaworker.sandbox.garbage`). An answer that says nothing (cut off,
empty, HTML, huge …) leaves a send :class:`AmbiguousOutcome` (the sandbox processed it: it may
have gone) and a read :class:`TransientError`; never a refusal, never a retried send.

Two runs: every method with every kind with a few seeds (parametrized), and a hypothesis property
over (method, kind, seed) — ``NUSAWORKER_FUZZ_EXAMPLES`` sets how many cases (default 300, the
same ones every run; set, they are drawn afresh).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nusaworker.providers import (
    NULL_TURN,
    AmbiguousOutcome,
    NusaSMSClient,
    ProviderError,
    RateLimited,
    SmartSwitchClient,
    SmsGateway24Client,
    TransientError,
    WAChatClient,
)
from nusaworker.providers.gate import Priority
from nusaworker.providers.smsgateway24 import BulkItem, Image, SimSlot
from nusaworker.providers.transport import MAX_ANSWER_BYTES, MAX_PENALTY_S
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.sandbox.garbage import DEFAULT_KINDS, KINDS, make
from nusaworker.sandbox.wire import Response

pytestmark = pytest.mark.integration

WACHAT_KEY = "wachat-garbage-key"
SS_LOGIN, SS_PASSWORD = "ss-login", "ss-password"
SG24_EMAIL, SG24_PASSWORD = "user@example.com", "pass"  # the sandbox's SmsGateway24 account
TEMPLATE_ID = "65a08d56-a2b9-45f5-98d3-98671e639055"  # the sandbox's (and documents') ids
CHANNEL_ID = "15974c27-3116-49f4-8627-5fc30b0c66d8"
ROOM_ID = "6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f50"
NUMBER = "6281234567890"
SENDER = "6281200000001"
FUZZ_EXAMPLES = int(os.environ.get("NUSAWORKER_FUZZ_EXAMPLES", "300"))
# The suite's run is the same every time; a long run asked for explores afresh.
FUZZ_FIXED = "NUSAWORKER_FUZZ_EXAMPLES" not in os.environ
# Kinds whose answer says nothing a client could act on: a send is in doubt, a read failed.
SILENT = frozenset(
    {"truncated", "cut_off", "html", "huge", "huge_unframed", "empty", "deep_nesting",
     "not_http", "gzip_bomb", "drip", "invalid_utf8", "wrong_content_type", "swapped_format"}
)  # fmt: skip
# Of those, the ones that can never be read as an answer (the rest may keep the real body).
UNREADABLE = frozenset({"cut_off", "huge", "huge_unframed", "empty", "drip"})
BOUND_S = 30.0  # "never hangs": far above any answer's time, far below a hang


class RecordingGate:
    """A Gate test double: never waits; records the fleet-wide penalties a 429 asks for."""

    def __init__(self) -> None:
        self.penalties: list[float] = []

    def acquire(self, account: str, *, priority: Priority = "normal", on_grant: Any = None) -> Any:
        return NULL_TURN

    def penalize(self, account: str, seconds: float) -> None:
        self.penalties.append(seconds)


@dataclass
class Rig:
    """One sandbox with an account of every provider, and a client of each."""

    box: Sandbox
    gate: RecordingGate
    nusasms: NusaSMSClient
    wachat: WAChatClient
    smartswitch: SmartSwitchClient
    sg24: SmsGateway24Client
    sg24_unpinned: SmsGateway24Client
    refs: dict[str, Any]

    def garbage(self, kind: str, seed: int | None = None) -> None:
        self.box.set_faults(FaultProfile(p_garbage=1.0, garbage_kinds=(kind,), garbage_seed=seed))

    def clean(self) -> None:
        self.box.set_faults(FaultProfile())


def _common(box: Sandbox, gate: RecordingGate) -> dict[str, Any]:
    # Waits are not slept (a Retry-After of a day would be); one second of read timeout.
    return {"base_url": box.url, "gate": gate, "sleep": lambda s: None, "read_timeout": 1.0}


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    box = Sandbox(host="127.0.0.1", port=0, min_interval_ms=0, enforce_rate=False, seed=17,
                  status_step_s=0.05, fail_rate=0.0)  # fmt: skip
    box.start()
    box.wachat.add_account(api_key=WACHAT_KEY)
    box.wachat.set_sender(SENDER, limit=None)
    box.smartswitch("carrier", login=SS_LOGIN, password=SS_PASSWORD)
    gate = RecordingGate()
    common = _common(box, gate)
    phone = int(box.smsgateway24().devices()[0]["id"])
    rig = Rig(
        box=box,
        gate=gate,
        nusasms=NusaSMSClient(api_key="test-key", sms_user="user", sms_password="pass", **common),
        wachat=WAChatClient(api_key=WACHAT_KEY, **common),
        smartswitch=SmartSwitchClient(login=SS_LOGIN, password=SS_PASSWORD, **common),
        sg24=SmsGateway24Client(
            email=SG24_EMAIL, password=SG24_PASSWORD, device_id=phone, **common
        ),
        sg24_unpinned=SmsGateway24Client(email=SG24_EMAIL, password=SG24_PASSWORD, **common),
        refs={},
    )
    # Real references for the status calls, made while the sandbox still answers well.
    rig.refs["wa"] = rig.nusasms.send_whatsapp(NUMBER, "hello").ref_no
    rig.refs["sms"] = rig.nusasms.send_sms(NUMBER, "hello").ref_no
    rig.refs["wachat"] = rig.wachat.send_whatsapp(NUMBER, "hello").ref_no
    rig.refs["sg24"] = rig.sg24.send(NUMBER, "hello").sms_id
    yield rig
    for client in (rig.nusasms, rig.wachat, rig.smartswitch, rig.sg24, rig.sg24_unpinned):
        client.close()
    box.stop()


Call = Callable[[Rig], object]
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64

# (name, "send" | "read", the call): every public method of every client.
CALLS: list[tuple[str, str, Call]] = [
    ("nusasms.get_account", "read", lambda r: r.nusasms.get_account()),
    ("nusasms.get_balance", "read", lambda r: r.nusasms.get_balance()),
    ("nusasms.send_whatsapp", "send", lambda r: r.nusasms.send_whatsapp(NUMBER, "hi")),
    ("nusasms.send_whatsapp_media", "send",
     lambda r: r.nusasms.send_whatsapp_media(NUMBER, media_url="https://e.example/a.png")),
    ("nusasms.get_whatsapp_status", "read", lambda r: r.nusasms.get_whatsapp_status(r.refs["wa"])),
    ("nusasms.check_whatsapp_numbers", "send",
     lambda r: r.nusasms.check_whatsapp_numbers([NUMBER], "http://127.0.0.1:9/cb")),
    ("nusasms.send_wa_official_broadcast", "send",
     lambda r: r.nusasms.send_wa_official_broadcast(NUMBER, "Ani", TEMPLATE_ID, CHANNEL_ID)),
    ("nusasms.send_wa_official_reply", "send",
     lambda r: r.nusasms.send_wa_official_reply(ROOM_ID, text="Thanks!")),
    ("nusasms.get_wa_official_templates", "read", lambda r: r.nusasms.get_wa_official_templates()),
    ("nusasms.get_wa_official_channels", "read", lambda r: r.nusasms.get_wa_official_channels()),
    ("nusasms.send_sms", "send", lambda r: r.nusasms.send_sms(NUMBER, "code 1234", otp=True)),
    ("nusasms.send_sms_group", "send", lambda r: r.nusasms.send_sms_group("Example", "hi all")),
    ("nusasms.get_sms_credits", "read", lambda r: r.nusasms.get_sms_credits()),
    ("nusasms.get_sms_delivery_report", "read",
     lambda r: r.nusasms.get_sms_delivery_report(r.refs["sms"])),
    ("wachat.get_account", "read", lambda r: r.wachat.get_account()),
    ("wachat.get_gateway_balance", "read",
     lambda r: r.wachat.get_gateway_balance(SENDER)),
    ("wachat.send_whatsapp", "send", lambda r: r.wachat.send_whatsapp(NUMBER, "hi")),
    ("wachat.send_whatsapp_media", "send",
     lambda r: r.wachat.send_whatsapp_media(NUMBER, media_url="https://e.example/a.png")),
    ("wachat.get_whatsapp_status", "read",
     lambda r: r.wachat.get_whatsapp_status(r.refs["wachat"])),
    ("smartswitch.send_sms", "send", lambda r: r.smartswitch.send_sms(NUMBER, "hi")),
    ("smartswitch.send_sms_batch", "send",
     lambda r: r.smartswitch.send_sms_batch([NUMBER, "6281234567891"], "hi")),
    ("sg24.authenticate", "read", lambda r: r.sg24.authenticate()),
    ("sg24.send", "send", lambda r: r.sg24.send(NUMBER, "hi")),
    ("sg24.send_image", "send",
     lambda r: r.sg24.send_image(NUMBER, Image("a.png", PNG), sim=SimSlot.WHATSAPP)),
    ("sg24.send_bulk", "send",
     lambda r: r.sg24.send_bulk([BulkItem(sendto=NUMBER, body="hi", device_id=r.sg24.device_id,
                                          sim=0)])),
    ("sg24.get_status", "read", lambda r: r.sg24.get_status(r.refs["sg24"])),
    ("sg24.list_devices", "read", lambda r: r.sg24.list_devices()),
    ("sg24.list_messages", "read", lambda r: r.sg24.list_messages(onlycount=False)),
    ("sg24.pick_device", "read", lambda r: _fresh_pick(r)),
]  # fmt: skip
CALL_NAMES = [name for name, _, _ in CALLS]


def _fresh_pick(rig: Rig) -> object:
    rig.sg24_unpinned._picked = None  # look the device up again: a hit every time
    return rig.sg24_unpinned.pick_device()


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def parser_bugs() -> Iterator[list[logging.LogRecord]]:
    """The transport's last line of defence logs any other exception a parser raised: each
    such record is a leak in a client's parsing, caught by the net rather than fixed. Only
    that logger's errors: the sandbox's own warnings (a phone-check push to a dead callback
    URL, from its background thread) are not the client's."""
    errors = _Errors()
    transport = logging.getLogger("nusaworker.providers.transport")
    transport.addHandler(errors)
    try:
        yield errors.records
    finally:
        transport.removeHandler(errors)


def outcome(rig: Rig, name: str, kind: str, seed: int | None) -> tuple[object, float]:
    """Call ``name`` once against garbage of ``kind``; its result or error, and the time."""
    call = CALLS[CALL_NAMES.index(name)][2]
    rig.garbage(kind, seed)
    started = time.monotonic()
    try:
        result: object = call(rig)
    except ProviderError as exc:
        result = exc
    except Exception as exc:  # a leak: anything else is what this test is about
        pytest.fail(f"{name} against garbage {kind}:{seed} leaked {type(exc).__name__}: {exc!r}")
    finally:
        rig.clean()
    return result, time.monotonic() - started


def check(rig: Rig, name: str, kind: str, seed: int | None) -> None:
    hit = CALLS[CALL_NAMES.index(name)][1]
    result, took = outcome(rig, name, kind, seed)
    where = f"{name} against garbage {kind}:{seed}"
    assert took < BOUND_S, f"{where} took {took:.1f} s"
    assert all(p <= MAX_PENALTY_S for p in rig.gate.penalties), rig.gate.penalties
    if kind in SILENT and isinstance(result, ProviderError):
        expected = AmbiguousOutcome if hit == "send" else TransientError
        assert type(result) is expected, f"{where}: {result!r}"
    if kind in UNREADABLE:
        assert isinstance(result, ProviderError), f"{where} read an unreadable answer: {result!r}"
    if not isinstance(result, ProviderError):
        assert_keepable(result, where)


# What the fleet keeps of a send's or a status's answer (in the ledger, in Redis key names):
# ids and status words. (Lists — templates, channels, devices — are shown, not kept.)
KEPT = {"ref_no": 128, "message_id": 128, "status": 200, "dr_status": 200, "err_code": 200,
        "status_description": 200}  # fmt: skip


def assert_keepable(result: object, where: str) -> None:
    """An id or status the client hands on is short, printable text (or a sane number)."""
    if isinstance(result, list):
        return
    items = [result, *getattr(result, "results", ())]  # a SmartSwitch batch: each destination
    for item in items:
        for name, limit in KEPT.items():
            value = getattr(item, name, None)
            if isinstance(value, str):
                assert value.isprintable() and 0 < len(value) <= limit, (where, name, value[:80])
        sms_id = getattr(item, "sms_id", None)
        if isinstance(sms_id, int):
            assert 0 < sms_id < 2**63, (where, sms_id)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "drip"])
@pytest.mark.parametrize("name", CALL_NAMES)
def test_client_garbage_every_method_every_kind(
    rig: Rig, parser_bugs: list[logging.LogRecord], name: str, kind: str
) -> None:
    for seed in (1, 2, 3):
        check(rig, name, kind, seed)
    assert parser_bugs == []


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=FUZZ_FIXED,
)
@given(
    name=st.sampled_from(CALL_NAMES),
    kind=st.sampled_from(DEFAULT_KINDS),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_client_garbage_property_only_taxonomy_errors(
    rig: Rig, parser_bugs: list[logging.LogRecord], name: str, kind: str, seed: int
) -> None:
    check(rig, name, kind, seed)
    assert parser_bugs == []


# ----------------------------------------------------------------- the bounds, one at a time


def seed_for(kind: str, wanted: Callable[[Response], bool]) -> int:
    """A garbage seed whose answer (made from a JSON answer) is the variant ``wanted``."""
    real = Response(200, b'{"error": false, "message": "", "data": {"ref_no": "R1"}}')
    return next(seed for seed in range(1000) if wanted(make(kind, real, seed)))


def test_client_garbage_a_huge_answer_is_not_read_past_the_cap(rig: Rig) -> None:
    # Valid JSON, 6 MiB: read whole it would parse; it is refused at 4 MiB instead.
    seed = seed_for("huge", lambda r: r.body.startswith(b'{"padding"') and r.framing == "length")
    result, _ = outcome(rig, "nusasms.send_whatsapp", "huge", seed)
    assert isinstance(result, AmbiguousOutcome)
    assert f"larger than {MAX_ANSWER_BYTES} bytes" in result.detail
    unframed = seed_for("huge_unframed", lambda r: r.body.startswith(b'{"padding"'))
    result, _ = outcome(rig, "nusasms.get_balance", "huge_unframed", unframed)
    assert isinstance(result, TransientError) and "larger than" in result.detail


def test_client_garbage_a_gzip_bomb_is_not_inflated_past_the_cap(rig: Rig) -> None:
    seed = seed_for("gzip_bomb", lambda r: len(r.body) < 1_000_000 and r.body[:2] == b"\x1f\x8b")
    result, _ = outcome(rig, "wachat.send_whatsapp", "gzip_bomb", seed)
    assert isinstance(result, AmbiguousOutcome) and "larger than" in result.detail
    not_gzip = seed_for("gzip_bomb", lambda r: r.body[:2] != b"\x1f\x8b")
    result, _ = outcome(rig, "wachat.get_account", "gzip_bomb", not_gzip)
    assert isinstance(result, TransientError) and "could not be decoded" in result.detail


def test_client_garbage_a_dripping_answer_ends_at_the_read_timeout(rig: Rig) -> None:
    # One byte every 0.25 s never trips a per-packet timeout; the body's deadline (the read
    # timeout, 1 s here) ends it. The send may have gone: in doubt, never retried.
    result, took = outcome(rig, "smartswitch.send_sms", "drip", 1)
    assert isinstance(result, AmbiguousOutcome) and "not complete within 1 s" in result.detail
    assert took < 5
    hits = [h for h in rig.box.hits() if h["path"] == "/api/message"]
    assert hits[-1]["fault"].startswith("garbage:drip") and len(hits) == len(
        [h for h in hits if h["accepted"]]
    )


def test_client_garbage_a_broken_answer_header_leaves_a_send_in_doubt(rig: Rig) -> None:
    # Two Content-Lengths that disagree: the answer's header, not ours — never "refused".
    seed = seed_for("not_http", lambda r: b"Content-Length: 9" in r.body)
    result, _ = outcome(rig, "sg24.send", "not_http", seed)
    assert isinstance(result, AmbiguousOutcome) and "broken header" in result.detail


def test_client_garbage_a_retry_after_of_a_day_pushes_the_fleet_back_a_minute(rig: Rig) -> None:
    rig.box.set_faults(FaultProfile(p_429=1.0, p_429_retry_after=1.0, retry_after_s=86400))
    before = len(rig.gate.penalties)
    try:
        with pytest.raises(RateLimited) as limited:
            rig.nusasms.get_balance()
    finally:
        rig.clean()
    assert limited.value.retry_after == 86400  # what the provider said, kept
    assert rig.gate.penalties[before:] == [MAX_PENALTY_S]  # what the fleet waits, capped
