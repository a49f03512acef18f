"""The pure pieces that keep garbage answers in the taxonomy: the JSON reader, the error
summary, the bounded body read, the shape of kept fields, the answer-header rule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from nusaworker.providers.bounded import read_body
from nusaworker.providers.classify import error_for_exception, load_json, summarize_body
from nusaworker.providers.errors import AmbiguousOutcome, PermanentError, TransientError
from nusaworker.providers.fields import MAX_ID_LENGTH, OptionalWord, ProviderId

# -- load_json ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser can follow
        b'{"a": ' * 100_000,
        b'{"balance": NaN}',
        b'{"balance": Infinity}',
        b"\xff\xfe{}",
        b'{"n": ' + b"9" * 5000 + b"}",  # more digits than Python reads
        b"",
        b'{"error": fa',
    ],
)
def test_load_json_refuses_garbage_with_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        load_json(body)


def test_load_json_reads_json() -> None:
    assert load_json(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_load_json_raises_nothing_but_value_error(body: bytes) -> None:
    with contextlib.suppress(ValueError):  # anything else fails the test
        load_json(body)


# -- summarize_body -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=5000))
def test_summarize_body_never_raises_and_stays_short(body: bytes) -> None:
    assert len(summarize_body(body)) <= 330


def test_summarize_body_reads_only_the_start_of_a_huge_body() -> None:
    # Unclosed "<title" for 6 MB once cost minutes in the title search; only the first 64 KB
    # are looked at now, with bounded repetitions.
    assert summarize_body(b"<html>" + b"<title" * 1_000_000).startswith("HTML/XML body")
    huge = b'{"message": "proxy says no"' + b" " * 5_000_000 + b"}"
    assert summarize_body(huge).startswith('{"message": "proxy says no"')


def test_summarize_body_redacts_a_secret_cut_at_the_end_of_what_it_reads() -> None:
    secret = "S3CRET-KEY-0123456789"
    body = b"x" * (64 * 1024 - 10) + secret.encode()
    assert "S3CRET" not in summarize_body(body, lambda t: t.replace(secret, "***"))


# -- the answer's header --------------------------------------------------------------------------


def test_an_invalid_header_of_the_answer_is_a_lost_answer_not_a_refusal() -> None:
    exc = requests.exceptions.InvalidHeader("Content-Length contained multiple unmatching values")
    assert isinstance(error_for_exception(exc, is_send=True, sent=True), AmbiguousOutcome)
    assert isinstance(error_for_exception(exc, is_send=False, sent=True), TransientError)
    # Before the request is made, an invalid header is ours: permanent.
    assert isinstance(error_for_exception(exc, is_send=True), PermanentError)


# -- read_body ----------------------------------------------------------------------------------


class FakeRaw:
    """A streamed body: ``read1`` hands out the chunks (or raises), then ``b""``."""

    def __init__(self, chunks: list[bytes | BaseException]) -> None:
        self._chunks: Iterator[bytes | BaseException] = iter(chunks)
        self.closed = False

    def read1(self, amt: int, decode_content: bool = True) -> bytes:
        item = next(self._chunks, b"")
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


def response(chunks: list[bytes | BaseException]) -> requests.Response:
    made = requests.Response()
    made.status_code = 200
    made.raw = FakeRaw(chunks)
    made.headers["Content-Encoding"] = "gzip"
    return made


def test_read_body_whole_body_becomes_the_content() -> None:
    answer = response([b'{"a":', b" 1}"])
    body = read_body(answer, limit=100, timeout=1)
    assert (body.data, body.problem, answer.content) == (b'{"a": 1}', None, b'{"a": 1}')
    assert not answer.raw.closed


def test_read_body_stops_past_the_limit_and_closes_the_connection() -> None:
    answer = response([b"x" * 60, b"x" * 60, b"x" * 60])
    body = read_body(answer, limit=100, timeout=1)
    assert body.problem == "larger than 100 bytes; not read" and len(body.data) == 60
    assert answer.raw.closed


def test_read_body_stops_at_the_deadline_between_packets() -> None:
    ticks = iter([0.0, 0.2, 0.4, 0.6, 1.2])
    answer = response([b"a", b"b", b"c", b"d"])
    body = read_body(answer, limit=100, timeout=1.0, clock=lambda: next(ticks))
    assert body.problem == "not complete within 1 s" and body.data == b"abc"


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (ReadTimeoutError(None, "/", "read timed out"), "not complete: read timeout"),
        (DecodeError("not gzip"), "could not be decoded (Content-Encoding gzip)"),
        (ProtocolError("Connection broken"), "cut off mid-body (ProtocolError)"),
        (ConnectionResetError(), "cut off mid-body (ConnectionResetError)"),
    ],
)
def test_read_body_a_broken_body_is_what_was_read_and_why(error: Any, problem: str) -> None:
    answer = response([b"{", error])
    body = read_body(answer, limit=100, timeout=1)
    assert (body.data, body.problem) == (b"{", problem)
    assert answer.raw.closed


# -- kept fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["", "   ", "x" * (MAX_ID_LENGTH + 1), "\x00", "\ud800", "\u202eevil", "a\nb"]
)
def test_provider_id_refuses_what_cannot_be_kept(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(ProviderId).validate_python(value)


def test_provider_id_keeps_an_id_stripped() -> None:
    assert TypeAdapter(ProviderId).validate_python(" NS123-abc_9 ") == "NS123-abc_9"


def test_optional_word_reads_a_blank_as_none() -> None:
    assert TypeAdapter(OptionalWord).validate_python("  ") is None
    assert TypeAdapter(OptionalWord).validate_python("DELIVRD") == "DELIVRD"
