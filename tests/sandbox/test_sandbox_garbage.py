"""The sandbox's garbage mode, over real HTTP: opt-in, every kind what it says, replayable."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
from typing import Any

import pytest
import requests

from nusaworker.sandbox import FaultProfile
from nusaworker.sandbox.garbage import _NOT_HTTP as NOT_HTTP
from nusaworker.sandbox.garbage import DEFAULT_KINDS, HUGE_BYTES, KINDS, SLOW_KINDS

pytestmark = pytest.mark.integration

BALANCE = "/nusasms_api/1.0/balance"
SEND = "/nusasms_api/1.0/whatsapp/message"
HEADERS = {"APIKey": "test-key"}


def raw_answer(box: Any, path: str = BALANCE) -> bytes:
    """The whole answer as bytes, read until the server closes (garbage always closes)."""
    with socket.create_connection((box.host, box.port), timeout=10) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAPIKey: test-key\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)


def test_sandbox_garbage_is_off_by_default_and_refuses_unknown_kinds(box: Any) -> None:
    assert FaultProfile().p_garbage == 0 and box.faults.garbage_paths == ()
    with pytest.raises(ValueError, match="unknown garbage kind"):
        FaultProfile(p_garbage=1, garbage_kinds=("confetti",))
    assert "drip" in SLOW_KINDS and "drip" not in DEFAULT_KINDS
    assert FaultProfile(p_garbage=1).garbage_pool == DEFAULT_KINDS


def test_sandbox_garbage_via_the_control_surface(box: Any, http: requests.Session) -> None:
    posted = http.post(
        f"{box.url}/_sandbox/faults",
        json={"p_garbage": 1, "garbage_kinds": ["empty"], "garbage_seed": 4},
    ).json()
    assert (posted["p_garbage"], posted["garbage_kinds"], posted["garbage_seed"]) == (
        1.0, ["empty"], 4
    )  # fmt: skip
    answer = http.get(box.url + BALANCE, headers=HEADERS)
    assert (answer.status_code, answer.content) == (200, b"")
    [hit] = box.hits()
    assert hit["fault"] == "garbage:empty:4"
    bad = http.post(f"{box.url}/_sandbox/faults", json={"garbage_kinds": "empty"})
    assert bad.status_code == 400


def test_sandbox_garbage_processes_a_send_first(box: Any, http: requests.Session) -> None:
    box.set_faults(p_garbage=1, garbage_kinds=["html"])
    answer = http.post(box.url + SEND, headers=HEADERS, json={"destination": "62812345678",
                                                              "message": "hi"})  # fmt: skip
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    [hit] = box.hits()
    assert hit["accepted"] and len(box.messages()) == 1  # the message went; its answer did not


def test_sandbox_garbage_seed_replays_the_same_answer(box: Any, http: requests.Session) -> None:
    box.set_faults(p_garbage=1, garbage_kinds=["wrong_types"], garbage_seed=99)
    first = http.get(box.url + BALANCE, headers=HEADERS).content
    second = http.get(box.url + BALANCE, headers=HEADERS).content
    assert first == second and first != b""
    box.set_faults(p_garbage=1, garbage_kinds=["wrong_types"], garbage_seed=100)
    assert http.get(box.url + BALANCE, headers=HEADERS).content != first


def test_sandbox_garbage_paths_answer_garbage_on_one_endpoint_only(
    box: Any, http: requests.Session
) -> None:
    box.set_faults(garbage_paths=["/nusasms_api/1.0/whatsapp/"], garbage_kinds=["empty"])
    assert http.get(box.url + BALANCE, headers=HEADERS).json()["error"] is False
    sent = http.post(box.url + SEND, headers=HEADERS, json={"destination": "62812345678",
                                                            "message": "hi"})  # fmt: skip
    assert sent.content == b""


@pytest.mark.parametrize("seed", range(6))
def test_sandbox_garbage_kinds_are_what_they_say(box: Any, seed: int) -> None:
    def answer(kind: str) -> bytes:
        box.set_faults(p_garbage=1, garbage_kinds=[kind], garbage_seed=seed)
        return raw_answer(box)

    def split(raw: bytes) -> tuple[bytes, bytes]:
        head, _, body = raw.partition(b"\r\n\r\n")
        return head, body

    real = json.loads(split(raw_answer(box))[1])
    # Wrong types: the real shape, with other values.
    head, body = split(answer("wrong_types"))
    assert b" 200 " in head.splitlines()[0] and json.loads(body) != real
    # Truncated: an honest length, a body cut short of the real one.
    head, body = split(answer("truncated"))
    assert f"Content-Length: {len(body)}".encode() in head and len(body) < len(json.dumps(real))
    # Cut off: a length that promises more than comes.
    head, body = split(answer("cut_off"))
    promised = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    assert promised > len(body)
    # Huge: several MB, with or without a length.
    assert len(split(answer("huge"))[1]) >= HUGE_BYTES
    head, body = split(answer("huge_unframed"))
    assert b"Content-Length" not in head and len(body) >= HUGE_BYTES
    # Not HTTP: the wire bytes are one of the broken answers, nothing more.
    assert answer("not_http") in NOT_HTTP
    # Deep nesting: 100,000 levels.
    body = split(answer("deep_nesting"))[1]
    assert max(body.count(b"["), body.count(b"<a>"), body.count(b'{"a"')) >= 100_000
    # Invalid UTF-8.
    body = split(answer("invalid_utf8"))[1]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    # A gzip bomb, or a body that says gzip and is not.
    head, body = split(answer("gzip_bomb"))
    assert b"Content-Encoding: gzip" in head
    try:
        inflated = gzip.decompress(body)
    except (OSError, EOFError):
        inflated = None
    assert inflated is None or len(inflated) >= 64 * 1024 * 1024


def test_sandbox_garbage_every_kind_leaves_the_server_serving(
    box: Any, http: requests.Session
) -> None:
    for kind in KINDS:
        if kind in SLOW_KINDS:
            continue
        box.set_faults(p_garbage=1, garbage_kinds=[kind])
        for _ in range(3):
            # Garbage is garbage; the point is the next answer.
            with contextlib.suppress(requests.RequestException):
                http.get(box.url + BALANCE, headers=HEADERS, timeout=10)
        box.set_faults(FaultProfile())
        assert http.get(box.url + BALANCE, headers=HEADERS, timeout=10).json()["error"] is False
