"""Every callback endpoint under bad requests: an answer below 500, and nothing written for 4xx.

Each example is one WSGI request to the receiver (the app a WSGI server runs, over a real
Redis): a drawn token (right, near, junk), endpoint, method, content type, query and body
(good and broken JSON, deep nesting, thousand-digit numbers, forms, multipart, XML, huge
bodies, a Content-Length that lies). The answer must be 200 or a 4xx the module documents,
never an exception (a WSGI server's 500); a 4xx leaves Redis as it was under the receiver's
prefix.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from nusaworker.settings import Settings
from nusaworker.testing.fuzzing import broken_bodies, huge, odd_text, tokens
from nusaworker.tracking.callbacks import CallbackApp
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

TOKEN = "fuzz-callback-token-0123456789"
ENDPOINTS = [
    "wa/status",
    "sms/status",
    "wa_official/status",
    "wa/inbox",
    "sms/inbox",
    "wa_official/inbox",
    "wachat/inbox",
    "wa/phone_check",
    "nonesuch",
    "",
]
DOCUMENTED = {200, 400, 403, 404, 405, 413, 415}
MAX_BODY = 64 * 1024  # the default NUSAWORKER_CALLBACK_MAX_BODY_BYTES


@pytest.fixture(scope="module")
def app(redis_url: str, fuzz_prefix: str) -> Iterator[CallbackApp]:
    made = create_app(Settings(redis_url=redis_url, key_prefix=fuzz_prefix, callback_token=TOKEN))
    yield made
    made.ledger.redis.close()


@pytest.fixture(scope="module")
def watcher(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _keys(client: redis.Redis, prefix: str) -> dict[bytes, Any]:
    """What the receiver wrote: each key under the prefix with its length or value."""
    seen: dict[bytes, Any] = {}
    for key in client.scan_iter(match=prefix + "*", count=1000):
        kind = client.type(key)
        seen[key] = client.xlen(key) if kind == b"stream" else client.dump(key)
    return seen


_QUERY = st.one_of(
    st.just("ref_no=R1&status=D&sent_date=2024-01-01+10:00:00"),
    st.dictionaries(
        st.sampled_from(["ref_no", "status", "sent_date", "err_code", "x"]),
        st.one_of(st.text(max_size=30), odd_text(30), huge(100, 3_000)),
        max_size=4,
    ).map(lambda d: "&".join(f"{k}={v}" for k, v in d.items())),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)

_BODY = st.one_of(
    broken_bodies(),
    st.just(b'{"ref_no": "R1", "status": "read", "status_date": "2024-01-01 10:00:00"}'),
    st.just(b'{"phone_numbers": [{"phone_number": "6281234567890", "is_registered": true}]}'),
    st.just(b"id=9&originator=6281234567890&msg=STOP&gateway_number=628111&receive_date="),
    st.just(b'{"room_id": "r", "ref_no": "x1", "text": "hi\\u0000", "sender_number": "628123"}'),
    st.integers(MAX_BODY - 10, MAX_BODY + 10).map(lambda n: b"a" * n),
)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@given(
    token=tokens(TOKEN),
    method=st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "HEAD", "DELETE"]),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "text/xml",
            "",
            "application/json; charset=latin-1",
        ]
    ),
    query=_QUERY,
    body=_BODY,
    lie=st.sampled_from([0, 0, 0, -1, 1, 10**9, None]),
)
def test_fuzz_receiver_answers_every_request_below_500(
    app: CallbackApp,
    watcher: redis.Redis,
    fuzz_prefix: str,
    tally: Any,
    token: str,
    endpoint: str,
    method: str,
    content_type: str,
    query: str,
    body: bytes,
    lie: int | None,
) -> None:
    length: Any = len(body) + lie if lie is not None else "twelve"
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": f"/{token}/{endpoint}",
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(length),
        "wsgi.input": io.BytesIO(body),
    }
    before = _keys(watcher, fuzz_prefix)
    answered: list[str] = []
    started = time.perf_counter()
    chunks = app(environ, lambda status, headers: answered.append(status))
    surface = f"receiver.{endpoint or 'root'}"
    tally(surface, "seconds", time.perf_counter() - started)
    status = int(answered[0].split()[0])
    assert status in DOCUMENTED, (status, b"".join(chunks))
    answer = json.loads(b"".join(chunks))
    assert answer["ok"] is (status == 200)
    if status == 200:
        tally(surface, "accepted")
        assert token == TOKEN
        return
    tally(surface, "refused")
    assert _keys(watcher, fuzz_prefix) == before, "a refused push wrote to Redis"
