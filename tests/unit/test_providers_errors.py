"""The provider error taxonomy: classes, the HTTP status table, answers and lost connections."""

from __future__ import annotations

import http.client
import json
import pickle

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from nusaworker.errors import NusaWorkerError
from nusaworker.providers.classify import (
    error_for_exception,
    error_for_response,
    summarize_body,
)
from nusaworker.providers.errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    class_for_status,
)
from nusaworker.providers.nusasms.envelope import read_envelope

ALL = [RateLimited, TransientError, PermanentError, AuthError, InsufficientCredit, AmbiguousOutcome]


@pytest.mark.parametrize("cls", ALL)
def test_errors_tree_and_docstrings(cls: type[ProviderError]) -> None:
    assert issubclass(cls, ProviderError)
    assert issubclass(cls, NusaWorkerError)
    assert cls.__doc__ is not None and cls.__doc__.startswith("Raised when")
    assert cls.retryable is (cls in (RateLimited, TransientError))


def test_errors_attributes_and_pickle_roundtrip() -> None:
    exc = PermanentError("bad", status_code=422, provider_code=7)
    assert (exc.status_code, exc.provider_code, exc.detail, str(exc)) == (422, 7, "bad", "bad")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is PermanentError
    assert (again.status_code, again.provider_code, again.detail) == (422, 7, "bad")
    limited = pickle.loads(pickle.dumps(RateLimited("slow", retry_after=2.5)))
    assert limited.retry_after == 2.5 and limited.status_code == 429


# HTTP statuses and the class each must map to, on a send and on a read (None: not an error).
STATUS_TABLE = [
    (200, None, None),
    (201, None, None),
    (202, None, None),
    (204, None, None),
    (400, PermanentError, PermanentError),
    (401, AuthError, AuthError),
    (402, InsufficientCredit, InsufficientCredit),
    (403, AuthError, AuthError),
    (404, PermanentError, PermanentError),
    (405, PermanentError, PermanentError),
    (422, PermanentError, PermanentError),
    (429, RateLimited, RateLimited),
    (500, TransientError, TransientError),
    (502, TransientError, TransientError),
    (503, TransientError, TransientError),
    (504, AmbiguousOutcome, TransientError),
    (599, AmbiguousOutcome, TransientError),
    (203, AmbiguousOutcome, TransientError),
    (302, PermanentError, PermanentError),
    (408, TransientError, TransientError),
]


@pytest.mark.parametrize(("status", "on_send", "on_read"), STATUS_TABLE)
def test_class_for_status_maps_every_documented_status(
    status: int, on_send: type[ProviderError] | None, on_read: type[ProviderError] | None
) -> None:
    assert class_for_status(status, is_send=True) is on_send
    assert class_for_status(status, is_send=False) is on_read


@pytest.mark.parametrize(("status", "on_send", "on_read"), STATUS_TABLE)
def test_error_for_response_builds_the_mapped_class(
    status: int, on_send: type[ProviderError] | None, on_read: type[ProviderError] | None
) -> None:
    for is_send, expected in ((True, on_send), (False, on_read)):
        error = error_for_response(status, {}, b"", is_send=is_send)
        if expected is None:
            assert error is None
        else:
            assert type(error) is expected
            assert error is not None and error.status_code == status
            assert f"HTTP {status}" in str(error)


def test_error_for_response_422_names_locs_and_msgs() -> None:
    body = json.dumps(
        {
            "detail": [
                {"loc": ["body", "destination"], "msg": "field required", "type": "missing"},
                {"loc": ["body", "message"], "msg": "str type expected", "type": "type_error"},
            ]
        }
    ).encode()
    error = error_for_response(422, {}, body, is_send=True)
    assert isinstance(error, PermanentError)
    assert "body.destination: field required" in str(error)
    assert "body.message: str type expected" in str(error)


def test_error_for_response_403_mentions_whitelist() -> None:
    error = error_for_response(403, {}, b'{"error": true, "message": "nope"}', is_send=False)
    assert isinstance(error, AuthError)
    assert "whitelist" in str(error) and "nope" in str(error)


def test_error_for_response_429_reads_retry_after() -> None:
    error = error_for_response(429, {"Retry-After": "3"}, b"", is_send=True)
    assert isinstance(error, RateLimited) and error.retry_after == 3.0
    bare = error_for_response(429, {}, b"", is_send=True)
    assert isinstance(bare, RateLimited) and bare.retry_after is None


def test_error_for_response_html_page_is_summarized_by_title() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>x</h1></body></html>"
    error = error_for_response(502, {}, page, is_send=True)
    assert isinstance(error, TransientError)
    assert "HTML page: 502 Bad Gateway" in str(error)


def test_error_for_response_redacts_secrets() -> None:
    body = b'{"message": "bad key s3cr3t-key-123 for user"}'
    error = error_for_response(
        401, {}, body, is_send=False, redact=lambda t: t.replace("s3cr3t-key-123", "***")
    )
    assert error is not None and "s3cr3t" not in str(error) and "***" in str(error)


def test_summarize_body_truncates_long_text() -> None:
    assert len(summarize_body(b"x" * 5000)) <= 300
    assert summarize_body(b"") == "empty body"


def test_read_envelope_accepts_success_and_keeps_data() -> None:
    body = b'{"error": false, "message": "ok", "data": {"ref_no": "R1"}, "new": 1}'
    envelope = read_envelope(201, body, is_send=True)
    assert envelope.data == {"ref_no": "R1"} and envelope.message == "ok"


def test_read_envelope_error_true_is_permanent_with_code() -> None:
    body = b'{"error": true, "error_code": 12, "message": "Invalid sender"}'
    with pytest.raises(PermanentError) as info:
        read_envelope(200, body, is_send=True)
    assert info.value.provider_code == 12 and "Invalid sender" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [b"", b'{"error": false, "data": {"ref', b"<html><body>oops</body></html>", b"[1, 2]", b"\xff"],
)
def test_read_envelope_unreadable_is_ambiguous_on_send_transient_on_read(body: bytes) -> None:
    with pytest.raises(AmbiguousOutcome):
        read_envelope(201, body, is_send=True)
    with pytest.raises(TransientError):
        read_envelope(200, body, is_send=False)


def _refused() -> requests.exceptions.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def _dropped() -> requests.exceptions.ConnectionError:
    cause = http.client.RemoteDisconnected("Remote end closed connection without response")
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", cause))


@pytest.mark.parametrize(
    ("make", "on_send", "on_read"),
    [
        (_refused, TransientError, TransientError),
        (lambda: requests.exceptions.ConnectTimeout("connect"), TransientError, TransientError),
        (lambda: requests.exceptions.SSLError("handshake"), TransientError, TransientError),
        (lambda: requests.exceptions.ReadTimeout("read"), AmbiguousOutcome, TransientError),
        (_dropped, AmbiguousOutcome, TransientError),
        (
            lambda: requests.exceptions.ChunkedEncodingError("cut"),
            AmbiguousOutcome,
            TransientError,
        ),
        (lambda: requests.exceptions.InvalidURL("bad url"), PermanentError, PermanentError),
        (lambda: requests.exceptions.RequestException("odd"), AmbiguousOutcome, TransientError),
    ],
)
def test_error_for_exception_before_and_after_write(
    make: object, on_send: type[ProviderError], on_read: type[ProviderError]
) -> None:
    assert callable(make)
    assert type(error_for_exception(make(), is_send=True)) is on_send
    assert type(error_for_exception(make(), is_send=False)) is on_read
