"""Turn what came back from a hit — an answer or a ``requests`` exception — into the taxonomy.

Pure functions of their inputs (no network), so every branch is unit-tested. The one rule that
runs through them: a *send* whose fate cannot be known ends in :class:`AmbiguousOutcome` (never
retried, it could deliver twice); a *read* in the same position ends in :class:`TransientError`
(retried, reading twice is harmless). The class alone then decides the retry.

Shared by every provider: it knows HTTP and ``requests``, not a provider's body shapes (those,
like the NusaSMS JSON envelope, are read in the provider's own subpackage).
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
)

from .errors import (
    AmbiguousOutcome,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    class_for_status,
    describe_status,
)
from .retry import parse_retry_after

__all__ = [
    "Redact",
    "error_for_exception",
    "error_for_response",
    "load_json",
    "lost_answer",
    "shorten",
    "summarize_body",
    "unredacted",
]

Redact = Callable[[str], str]
MAX_DETAIL = 300
# An error's summary needs the start of its body only; reading all of a few MB through the
# regular expressions below would cost seconds for nothing.
SUMMARY_BYTES = 64 * 1024
_SECRET_MARGIN = 4096  # longer than any credential: a secret cut at the end is cut away whole


def unredacted(text: str) -> str:
    """The default redaction: none (for callers with no secrets to hide)."""
    return text


def lost_answer(detail: str, *, is_send: bool, status_code: int | None = None) -> ProviderError:
    """The error for an answer that cannot be known or read: ambiguous on a send, transient else."""
    if is_send:
        return AmbiguousOutcome(
            f"{detail}; the provider may have accepted the send", status_code=status_code
        )
    return TransientError(detail, status_code=status_code)


def _chain(exc: BaseException) -> list[object]:
    """Every error nested in a ``requests`` exception (args, ``reason``, causes), breadth first."""
    seen: list[object] = []
    todo: list[object] = [exc]
    while todo and len(seen) < 32:
        item = todo.pop(0)
        if any(item is s for s in seen):
            continue
        seen.append(item)
        if isinstance(item, BaseException):
            todo.extend(a for a in item.args if isinstance(a, BaseException))
            for attr in ("reason", "__cause__", "__context__"):
                nested = getattr(item, attr, None)
                if isinstance(nested, BaseException):
                    todo.append(nested)
    return seen


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before a byte of the request could be written."""
    for item in _chain(exc):
        if isinstance(item, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
    return False


def _after_write(exc: BaseException) -> bool:
    """True when the connection broke once the request was (possibly) on the wire."""
    for item in _chain(exc):
        if isinstance(
            item,
            ProtocolError
            | http.client.RemoteDisconnected
            | http.client.IncompleteRead
            | ConnectionResetError
            | BrokenPipeError,
        ):
            return True
    return False


def error_for_exception(
    exc: requests.RequestException, *, is_send: bool, sent: bool = False
) -> ProviderError:
    """Map a ``requests`` exception to the taxonomy (the caller raises it ``from exc``).

    Not sent — connect timeout, refused, name resolution, TLS handshake — is transient for any
    hit. Sent but unanswered — read timeout, connection dropped or answer cut off — is
    ambiguous for a send and transient for a read. A malformed URL or header of our request
    is permanent; ``sent`` says the request was being made, so an invalid header can only be
    the answer's (``Content-Length: 2`` and ``Content-Length: 9``): an answer lost.
    """
    name = type(exc).__name__
    if sent and isinstance(exc, requests.exceptions.InvalidHeader):
        return lost_answer(f"answer with a broken header ({name})", is_send=is_send)
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader
        | requests.exceptions.URLRequired,
    ):
        return PermanentError(f"request could not be made ({name})")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransientError("connect timeout: the request was not sent")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return lost_answer("read timeout: no answer in time", is_send=is_send)
    if isinstance(exc, requests.exceptions.SSLError):
        return TransientError("TLS handshake failed: the request was not sent")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _never_sent(exc) and not _after_write(exc):
            return TransientError(f"could not connect ({name}): the request was not sent")
        return lost_answer(f"connection dropped before the answer ({name})", is_send=is_send)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return lost_answer("answer cut off mid-body", is_send=is_send)
    return lost_answer(f"request failed ({name})", is_send=is_send)


# Bounded repetitions: "<title" repeated with no ">" must not make the search quadratic.
_TITLE = re.compile(r"<title[^>]{0,200}>(.{0,1000}?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def shorten(text: str) -> str:
    """``text`` on one line, cut to ``MAX_DETAIL`` characters (an error's detail stays short)."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes | str) -> Any:
    """``body`` parsed as strict JSON, or :class:`ValueError` saying why it is not.

    Refused alike: bytes that are not UTF-8, broken or cut JSON, ``NaN``/``Infinity`` (not JSON:
    a balance of NaN must not read as a number), integers of thousands of digits, and nesting
    deeper than the parser can follow (Python's ``RecursionError``). Every provider answer that
    is JSON is read through here.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _validation_detail(detail: Any) -> str | None:
    """``[{"loc": [...], "msg": ...}, …]`` → ``"body.destination: field required; …"``."""
    if not isinstance(detail, list):
        return None
    parts = []
    for item in detail:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        where = ".".join(str(p) for p in loc) if isinstance(loc, list | tuple) else str(loc or "")
        msg = str(item.get("msg", "")).strip()
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) if parts else None


def summarize_body(body: bytes, redact: Redact = unredacted) -> str:
    """A short, human summary of an error body: validation details, a message, a page title.

    Only the first :data:`SUMMARY_BYTES` are looked at. Secrets are redacted *before* the text
    is cut short (a little more than that is redacted, then cut), so that no prefix of a secret
    can survive a cut.
    """
    head = body[: SUMMARY_BYTES + _SECRET_MARGIN].decode("utf-8", errors="replace")
    text = redact(head)[:SUMMARY_BYTES].strip()
    if not text:
        return "empty body"
    try:
        data = load_json(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        found = _validation_detail(data.get("detail"))
        if found:
            return shorten(found)
        for key in ("detail", "message", "error_description", "error"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return shorten(value)
        return shorten(text)
    title = _TITLE.search(text)
    if title:
        return "HTML page: " + shorten(_TAGS.sub("", title.group(1)))
    if text.startswith("<"):
        return "HTML/XML body: " + shorten(_TAGS.sub(" ", text))
    return shorten(text)


def error_for_response(
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    is_send: bool,
    redact: Redact = unredacted,
) -> ProviderError | None:
    """The error an HTTP answer stands for, judged by its status; ``None`` for a 2xx success.

    The body (validation details of a 422, an HTML error page, a message) only feeds the text.
    A 2xx success can still hold an error: that is :func:`read_envelope`'s job.
    """
    cls = class_for_status(status_code, is_send=is_send)
    if cls is None:
        return None
    detail = f"HTTP {status_code} {describe_status(status_code)}: {summarize_body(body, redact)}"
    if cls is RateLimited:
        return RateLimited(detail, retry_after=parse_retry_after(headers), status_code=status_code)
    if cls is AmbiguousOutcome:
        return lost_answer(detail, is_send=True, status_code=status_code)
    return cls(detail, status_code=status_code)
