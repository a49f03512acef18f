"""The secrets scanner of the fleet test finds a secret in every form it can be written in."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from nusaworker.testing.leaks import Scan, expanded, forms

SECRET = "nw-s3cret/+&=@"


def test_leaks_forms_are_distinct_encodings() -> None:
    found = forms(SECRET)
    assert found["raw"] == SECRET and found["url"] == quote(SECRET, safe="")
    assert found["base64"] == base64.b64encode(SECRET.encode()).decode().rstrip("=")
    assert len(set(found.values())) == len(found)
    assert list(forms("plainsecret123")) == ["raw", "base64"]  # nothing to percent-encode


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc"])
def test_leaks_scan_finds_a_secret_inside_a_kombu_message_at_any_offset(prefix: str) -> None:
    # kombu's envelope: JSON whose body is base64 of the task's JSON, so the secret's own
    # base64 form may sit at any alignment.
    body = json.dumps([[prefix + SECRET], {}, {}]).encode()
    message = json.dumps({"body": base64.b64encode(body).decode(), "content-encoding": "utf-8"})
    scan = Scan({"key": SECRET})

    assert scan.add("broker", "wa", message)
    assert SECRET in expanded(message)


@pytest.mark.parametrize(
    "text",
    [
        f"GET /api/command?{urlencode({'user': 'u', 'password': SECRET})}",
        f"redis://:{quote(SECRET, safe='')}@host/0",
        "Authorization: Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode(),
        f"log line {SECRET} in clear",
    ],
)
def test_leaks_scan_finds_each_encoding(text: str) -> None:
    scan = Scan({"key": SECRET})
    assert scan.add("logs", "worker", text), text
    assert scan.of("logs") and not scan.of("redis")


def test_leaks_scan_counts_what_it_read_and_finds_nothing_in_clean_text() -> None:
    scan = Scan({"key": SECRET})
    scan.add("logs", "worker", "one\ntwo\n" + base64.b64encode(b"nothing to see here").decode())
    scan.add("logs", "beat", "redis://:***@host/0")

    assert scan.leaks == []
    assert scan.items == {"logs": 2} and scan.lines == {"logs": 4}
