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
from nusaworker.testing.fuzzing import broken_bodies, huge, odd_text, tokens, weighted
from nusaworker.testing.redis_server import private_redis
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
def own_redis() -> Iterator[str]:
    """A private redis-server: "nothing written" is then its write counter, which no other
    run moves."""
    with private_redis() as url:
        yield url


@pytest.fixture(scope="module")
def app(own_redis: str, fuzz_prefix: str) -> Iterator[CallbackApp]:
    made = create_app(Settings(redis_url=own_redis, key_prefix=fuzz_prefix, callback_token=TOKEN))
    yield made
    made.ledger.redis.close()


@pytest.fixture(scope="module")
def watcher(own_redis: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(own_redis)
    yield client
    client.close()


def _writes(client: redis.Redis) -> int:
    """Every write the private server has taken (its dirty counter: it never saves, so the
    counter only grows); the receiver is its only client."""
    return int(client.info("persistence")["rdb_changes_since_last_save"])


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
    st.integers(MAX_BODY - 10, MAX_BODY + 10).map(lambda n: b"a" * n),
)

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
# A well-formed request per endpoint (method, content type, query, body), as seed 001 pushes it.
_GOOD: dict[str, st.SearchStrategy[tuple[str, str, str, bytes]]] = {
    "wa/status": st.builds(
        lambda ref, status: ("GET", "", f"ref_no={ref}&status={status}", b""),
        st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True),
        st.sampled_from(["Q", "S", "D", "R", "F", "A", "weird"]),
    ),
    "sms/status": st.builds(
        lambda ref, status: ("POST", _FORM, "", f"ref_no={ref}&status={status}".encode()),
        st.from_regex(r"[0-9]{1,20}", fullmatch=True),
        st.sampled_from(["DELIVRD", "UNDELIV", "1", "2"]),
    ),
    "wa_official/status": st.builds(
        lambda ref, status: ("POST", _JSON, "", json.dumps({"ref_no": ref, "status": status})),
        st.from_regex(r"[a-z0-9\-]{1,36}", fullmatch=True),
        st.sampled_from(["sent", "delivered", "read", "failed"]),
    ).map(lambda t: (t[0], t[1], t[2], t[3].encode())),
    "wa/inbox": st.builds(
        lambda i, msg: ("POST", _FORM, "", f"id={i}&originator=6281234567890&msg={msg}".encode()),
        st.integers(1, 10**9),
        st.sampled_from(["hi", "STOP", "halo%20kak", "%00"]),
    ),
    "sms/inbox": st.builds(
        lambda i: ("POST", _FORM, "", f"id={i}&originator=628123456789&msg=ok".encode()),
        st.integers(1, 10**9),
    ),
    "wachat/inbox": st.builds(
        lambda i: ("POST", _FORM, "", f"id={i}&originator=628123456789&msg=ok".encode()),
        st.integers(1, 10**9),
    ),
    "wa_official/inbox": st.builds(
        lambda i, text: (
            "POST",
            _JSON,
            "",
            json.dumps(
                {"room_id": "r1", "ref_no": f"in{i}", "text": text, "sender_number": "6281234"}
            ).encode(),
        ),
        st.integers(1, 10**9),
        st.text(max_size=50),
    ),
    "wa/phone_check": st.builds(
        lambda numbers: (
            "POST",
            _JSON,
            "",
            json.dumps(
                {"phone_numbers": [{"phone_number": n, "is_registered": True} for n in numbers]}
            ).encode(),
        ),
        st.lists(st.from_regex(r"628[0-9]{8,10}", fullmatch=True), min_size=1, max_size=5),
    ),
}

_ANY = st.tuples(
    st.sampled_from(["GET", "POST", "POST", "PUT", "HEAD", "DELETE"]),
    st.sampled_from(
        [
            _JSON,
            _FORM,
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "text/xml",
            "",
            "application/json; charset=latin-1",
        ]
    ),
    _QUERY,
    _BODY,
)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@given(
    token=tokens(TOKEN),
    request=st.data(),
    lie=st.sampled_from([0, 0, 0, 0, 0, 0, -1, 1, 10**9, None]),
)
def test_fuzz_receiver_answers_every_request_below_500(
    app: CallbackApp,
    watcher: redis.Redis,
    fuzz_prefix: str,
    tally: Any,
    token: str,
    endpoint: str,
    request: st.DataObject,
    lie: int | None,
) -> None:
    good = _GOOD.get(endpoint)
    drawn = weighted(60, good, _ANY) if good is not None else _ANY
    method, content_type, query, body = request.draw(drawn)
    length: Any = len(body) + lie if lie is not None else "twelve"
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": f"/{token}/{endpoint}",
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(length),
        "wsgi.input": io.BytesIO(body),
    }
    before = _writes(watcher)
    answered: list[str] = []
    started = time.perf_counter()
    chunks = app(environ, lambda status, headers, exc_info=None: answered.append(status))
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
    assert _writes(watcher) == before, "a refused push wrote to Redis"
