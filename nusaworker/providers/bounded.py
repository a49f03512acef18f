"""Read an answer's body within bounds: at most :data:`MAX_ANSWER_BYTES`, within the read timeout.

``requests`` reads a whole body into memory by default, however large, and its read timeout
applies to each wait for a packet, not to the body: a provider (or a proxy) that answers
several MB, a gzip bomb that inflates to gigabytes, or a body that trickles in a byte at a time
would hold a worker thread and its memory without end. The transport therefore streams every
answer and reads it here, in chunks of what has arrived, decoding (gzip, deflate) as it goes:

* more than ``limit`` bytes (after decoding) and the read stops, the connection is closed;
* a body not complete within ``timeout`` seconds of its headers stops the same way;
* a body cut off, or that does not decode, is what was read so far.

4 MiB is far above any documented answer (the largest, a page of the SmsGateway24 message
list, is tens of KB) and small enough for a thread pool of workers to hold at once. What is
read becomes ``response.content`` as usual. Whether an incomplete body matters is the caller's
call: a success whose body was not read whole is an answer lost (ambiguous for a send); an
error status still says what it says.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from urllib3.exceptions import DecodeError, HTTPError, ReadTimeoutError

__all__ = ["CHUNK_BYTES", "MAX_ANSWER_BYTES", "Body", "read_body"]

MAX_ANSWER_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Body:
    """What was read of an answer's body; ``problem`` says why it is not the whole body."""

    data: bytes
    problem: str | None = None


def read_body(
    response: requests.Response,
    *,
    limit: int = MAX_ANSWER_BYTES,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> Body:
    """Read the body of a streamed ``response`` within ``limit`` bytes and ``timeout`` seconds.

    The body read becomes ``response.content``. When it is incomplete, the connection is
    closed (never handed back to the pool half-read) and :attr:`Body.problem` says why.
    """
    deadline = clock() + timeout
    parts: list[bytes] = []
    size = 0
    problem: str | None = None
    try:
        while True:
            if clock() > deadline:
                problem = f"not complete within {timeout:g} s"
                break
            # read1: whatever has arrived (at most one chunk), so the deadline is looked at
            # between packets even when they come a byte at a time.
            chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                problem = f"larger than {limit} bytes; not read"
                break
            parts.append(chunk)
    except ReadTimeoutError:
        problem = "not complete: read timeout"
    except DecodeError:
        encoding = response.headers.get("Content-Encoding", "?")
        problem = f"could not be decoded (Content-Encoding {encoding[:40]})"
    except (HTTPError, http.client.HTTPException, OSError) as exc:
        problem = f"cut off mid-body ({type(exc).__name__})"
    data = b"".join(parts)
    response._content = data
    response._content_consumed = True  # type: ignore[attr-defined]  # requests reads this
    if problem is not None:
        response.raw.close()  # half-read: the connection cannot carry another answer
    response.close()  # hands a whole-read connection back to the pool
    return Body(data, problem)
