"""Garbage answers: what a broken provider, a proxy or the network hands a client instead of
the documented answer (an opt-in fault: ``FaultProfile.p_garbage`` and ``garbage_kinds``).

The endpoint runs first — a send is processed, its credit taken, its message made — and its real
answer is then replaced by one of these kinds, drawn with the hit's own seeded RNG (so a seed
replays the same garbage):

================== ==========================================================================
kind               the answer
================== ==========================================================================
``wrong_types``    the real JSON with values of the wrong type: text for numbers, numbers for
                   text, ``NaN``, 10^40, lone surrogates, lists and objects for scalars …
``odd_values``     the real JSON with values of the right type but odd: empty or 10,000-
                   character text, control characters, lone surrogates, 0, -1, 10^40, NaN …
``nulls``          the real JSON with values (or the whole body) ``null``
``wrong_shapes``   objects turned into lists or text, lists into objects or scalars
``truncated``      the real body cut short, with an honest ``Content-Length``
``cut_off``        a ``Content-Length`` larger than what is sent, then the connection closes
``html``           an HTML page (proxy error, captive portal, PHP error) with status 200
``huge``           several MB (``HUGE_BYTES``): padded JSON, HTML, random bytes
``huge_unframed``  the same without ``Content-Length``: the body ends when the connection does
``empty``          status 200 and no body
``wrong_content_type`` the real body under a wrong ``Content-Type``
``invalid_utf8``   the real body with bytes that are not UTF-8, or re-encoded as UTF-16
``swapped_format`` XML where JSON was asked for, JSON where XML was
``deep_nesting``   JSON or XML nested 100,000 levels deep
``not_http``       bytes that are not an HTTP answer (another protocol, a broken status line,
                   a bad ``Content-Length``, a header line of 100 KB, 200 headers …)
``odd_status``     an undocumented status (203, 299, 302, 418, 520, 999 …) or a 429 whose
                   ``Retry-After`` is nonsense (``soon``, ``-5``, ``1e308``, the year 2999)
``gzip_bomb``      ``Content-Encoding: gzip`` over 64 MiB of zeros, or over a body that is no gzip
``drip``           the real answer, one byte every ``DRIP_INTERVAL_S`` (slow by design: only
                   when named in ``garbage_kinds``)
================== ==========================================================================

Every garbage answer closes its connection afterwards, so that nothing of it is read as the
start of the next answer on a kept-alive connection.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from .wire import Response

__all__ = [
    "DEFAULT_KINDS",
    "DRIP_INTERVAL_S",
    "HUGE_BYTES",
    "KINDS",
    "SLOW_KINDS",
    "make",
]

# Bigger than any answer a client should read (the client's cap is 4 MiB, see
# nusaworker.providers.transport), small enough to send in a blink over 127.0.0.1.
HUGE_BYTES = 6 * 1024 * 1024
DEEP = 100_000
DRIP_INTERVAL_S = 0.25
_BOMB_BYTES = 64 * 1024 * 1024

_NOT_JSON = object()


def _json_of(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return _NOT_JSON


def _dump(value: Any) -> bytes:
    # allow_nan: sloppy encoders write NaN/Infinity, which is not JSON but is what arrives.
    return json.dumps(value, allow_nan=True).encode("utf-8")


def _document(resp: Response, rng: random.Random) -> Any:
    """The real answer as a JSON value (an XML answer as nested dicts); else an invented one."""
    data = _json_of(resp.body)
    if data is not _NOT_JSON:
        return data
    try:
        return _xml_to_value(ET.fromstring(resp.body))
    except ET.ParseError:
        return {"error": False, "message": "", "data": {"ref_no": f"R{rng.randrange(10**6)}"}}


def _xml_to_value(element: ET.Element) -> Any:
    if len(element) == 0:
        return (element.text or "").strip()
    children = [_xml_to_value(child) for child in element]
    tags = [child.tag for child in element]
    if len(set(tags)) < len(tags):
        return {element.tag: children}
    return dict(zip(tags, children, strict=True))


def _wrong_value(value: Any, rng: random.Random) -> Any:
    """A value whose type differs from ``value``'s (a few tries; nothing is guaranteed)."""
    pool: list[Any] = [
        "",
        " ",
        "abc",
        "0",
        "-1",
        "1e999",
        "NaN",
        "null",
        "true",
        0,
        -1,
        2**63,
        10**40,
        1.5,
        -0.0,
        float("nan"),
        float("inf"),
        True,
        False,
        None,
        [],
        {},
        ["x", 1],
        {"x": 1},
        "\u0000\u001f",
        "\ud800",
        "\u202e\u0645",
        "x" * 10_000,
        "<b>&amp;</b>",
    ]
    for _ in range(5):
        candidate = rng.choice(pool)
        if type(candidate) is not type(value):
            return candidate
    return candidate


def _retype(node: Any, rng: random.Random, p: float) -> Any:
    if isinstance(node, dict):
        out = {k: _retype(v, rng, p) if rng.random() >= p else _wrong_value(v, rng)
               for k, v in node.items()}  # fmt: skip
        if rng.random() < 0.2:
            out["unexpected_" + str(rng.randrange(100))] = _wrong_value(None, rng)
        return out
    if isinstance(node, list):
        return [_retype(v, rng, p) if rng.random() >= p else _wrong_value(v, rng) for v in node]
    return _wrong_value(node, rng) if rng.random() < p else node


_ODD_TEXT = ("", " ", "x" * 10_000, "\u0000", "\u0007bell", "\ud800", "\u202eevil", "null",
             "undefined", "\n\r", "../../etc/passwd", "' OR 1=1 --")  # fmt: skip
_ODD_NUMBERS = (0, -1, 2**63, 10**40, -(10**40), 1e308, float("nan"), float("inf"))


def _odd_value(value: Any, rng: random.Random) -> Any:
    """A value of the same type as ``value``, but one no parser expects."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return rng.choice(_ODD_TEXT)
    if isinstance(value, int | float):
        return rng.choice(_ODD_NUMBERS)
    return value


def _oddify(node: Any, rng: random.Random, p: float) -> Any:
    if isinstance(node, dict):
        return {k: _oddify(v, rng, p) for k, v in node.items()}
    if isinstance(node, list):
        return [_oddify(v, rng, p) for v in node]
    return _odd_value(node, rng) if rng.random() < p else node


def _nullify(node: Any, rng: random.Random) -> Any:
    if isinstance(node, dict):
        return {k: None if rng.random() < 0.5 else _nullify(v, rng) for k, v in node.items()}
    if isinstance(node, list):
        return [None if rng.random() < 0.5 else _nullify(v, rng) for v in node]
    return node


def _reshape(node: Any, rng: random.Random) -> Any:
    roll = rng.random()
    if isinstance(node, dict):
        inner = {k: _reshape(v, rng) for k, v in node.items()}
        if roll < 0.3:
            return list(inner.values())
        if roll < 0.4:
            return [inner]
        if roll < 0.5:
            return "[object Object]"
        return inner
    if isinstance(node, list):
        inner_list = [_reshape(v, rng) for v in node]
        if roll < 0.3:
            return {str(i): v for i, v in enumerate(inner_list)}
        if roll < 0.5:
            return inner_list[0] if inner_list else None
        return inner_list
    if roll < 0.15:
        return [node]
    if roll < 0.25:
        return {"value": node}
    return node


def _replace(resp: Response, body: bytes, **changes: Any) -> Response:
    return dataclasses.replace(resp, body=body, **changes)


def wrong_types(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, _dump(_retype(_document(resp, rng), rng, 0.5)),
                    content_type="application/json")  # fmt: skip


def odd_values(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, _dump(_oddify(_document(resp, rng), rng, 0.5)),
                    content_type="application/json")  # fmt: skip


def nulls(resp: Response, rng: random.Random) -> Response:
    if rng.random() < 0.2:
        return _replace(resp, b"null", content_type="application/json")
    return _replace(
        resp, _dump(_nullify(_document(resp, rng), rng)), content_type="application/json"
    )


def wrong_shapes(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, _dump(_reshape(_document(resp, rng), rng)),
                    content_type="application/json")  # fmt: skip


def truncated(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, resp.body[: rng.randrange(max(1, len(resp.body)))])


def cut_off(resp: Response, rng: random.Random) -> Response:
    sent = resp.body[: rng.randrange(len(resp.body) + 1)]
    promised = len(resp.body) + rng.randint(1, 1000)
    return _replace(resp, sent, framing="overstated", declared_length=promised)


_HTML_PAGES = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>",
    b"<!DOCTYPE html><html><head><title>Login - Hotspot</title></head><body>"
    b'<form action="/login" method="post"><input name="username"></form></body></html>',
    b"<br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [2002] in "
    b'<b>/var/www/api/index.php</b> on line <b>42</b><br />\n{"error":false,"data":',
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<noscript>Enable JavaScript and cookies to continue</noscript></body></html>",
    b"<html><body>OK</body></html>",
)


def html(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, rng.choice(_HTML_PAGES), status=200,
                    content_type="text/html; charset=utf-8")  # fmt: skip


def _huge_body(resp: Response, rng: random.Random) -> tuple[bytes, str]:
    roll = rng.randrange(4)
    if roll == 0:  # valid JSON, the real answer with a few MB of padding
        data = _document(resp, rng)
        padded = {"padding": "x" * HUGE_BYTES, "answer": data}
        return _dump(padded), "application/json"
    if roll == 1:  # an HTML page whose every tag is an unclosed <title
        return b"<html>" + b"<title" * (HUGE_BYTES // 6), "text/html"
    if roll == 2:
        return rng.randbytes(HUGE_BYTES), "application/octet-stream"
    return b'"' + b"a" * HUGE_BYTES + b'"', "application/json"


def huge(resp: Response, rng: random.Random) -> Response:
    body, ctype = _huge_body(resp, rng)
    return _replace(resp, body, status=200, content_type=ctype)


def huge_unframed(resp: Response, rng: random.Random) -> Response:
    body, ctype = _huge_body(resp, rng)
    return _replace(resp, body, status=200, content_type=ctype, framing="unframed")


def empty(resp: Response, rng: random.Random) -> Response:
    ctype = rng.choice(("application/json", "text/html", "text/plain", ""))
    return _replace(resp, b"", status=200, content_type=ctype)


def wrong_content_type(resp: Response, rng: random.Random) -> Response:
    ctype = rng.choice(("text/html", "application/xml", "text/plain", "image/png",
                        "application/octet-stream", "", "garbage/;;;charset=klingon"))  # fmt: skip
    return _replace(resp, resp.body, content_type=ctype)


_NOT_UTF8 = (b"\xff", b"\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80")


def invalid_utf8(resp: Response, rng: random.Random) -> Response:
    if rng.random() < 0.2:
        return _replace(resp, resp.body.decode("utf-8", "replace").encode("utf-16"))
    body = bytearray(resp.body)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(body) + 1)
        body[at:at] = rng.choice(_NOT_UTF8)
    return _replace(resp, bytes(body))


def _to_xml(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            name = key if str(key).isidentifier() else "field"
            element.append(_to_xml(name, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_to_xml("result", item))
    else:
        element.text = "" if value is None else str(value)
    return element


def swapped_format(resp: Response, rng: random.Random) -> Response:
    data = _json_of(resp.body)
    if data is not _NOT_JSON:
        xml = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(_to_xml("results", data))
        return _replace(resp, xml, content_type="application/xml")
    return _replace(resp, _dump(_document(resp, rng)), content_type="application/json")


def deep_nesting(resp: Response, rng: random.Random) -> Response:
    roll = rng.randrange(4)
    if roll == 0:
        body = b"[" * DEEP + b"]" * DEEP
    elif roll == 1:
        body = b'{"error": false, "data": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}"
    elif roll == 2:
        body = b"<results>" + b"<a>" * DEEP + b"1" + b"</a>" * DEEP + b"</results>"
    else:
        body = b'{"a": ' * DEEP  # deep and unterminated
    return _replace(resp, body, status=200)


# Broken framing around a body that says nothing either ('{"'): the framing is the garbage.
_NOT_HTTP = (
    b"",
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"\x00\x01\x02\x03\xff garbage",
    b"HTTP/1.1 2OO OK\r\n\r\n",
    b'HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{"',
    b'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{"',
    b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{"',
    b'HTTP/1.1 200 OK\r\nthis is not a header\r\nContent-Length: 2\r\n\r\n{"',
    b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{"\r\n0\r\n\r\n',
    b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 100_000 + b'\r\nContent-Length: 2\r\n\r\n{"',
    b"HTTP/1.1 200 OK\r\n" + b"X-H: 1\r\n" * 200 + b'Content-Length: 2\r\n\r\n{"',
)


def not_http(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, rng.choice(_NOT_HTTP), status=0, framing="raw")


_ODD_STATUSES = (203, 206, 226, 299, 300, 301, 302, 307, 400, 402, 404, 409, 410, 418, 420, 451,
                 499, 500, 501, 505, 508, 520, 522, 599, 999)  # fmt: skip
_RETRY_AFTER = ("soon", "-5", "1e308", "99999999999", "Wed, 21 Oct 2999 07:28:00 GMT", "nan",
                "inf", "86400", "", "Mon, 32 Foo 2020 99:99:99 GMT")  # fmt: skip


def odd_status(resp: Response, rng: random.Random) -> Response:
    if rng.random() < 0.3:
        headers = {"Retry-After": rng.choice(_RETRY_AFTER)}
        if rng.random() < 0.3:
            headers["retry-after-ms"] = rng.choice(("1e30", "-1", "x", "9" * 40))
        return _replace(resp, resp.body, status=429, headers=headers)
    status = rng.choice(_ODD_STATUSES)
    body = resp.body if rng.random() < 0.5 else rng.choice(_HTML_PAGES)
    headers = {"Location": "http://elsewhere.invalid/"} if 300 <= status < 400 else {}
    return _replace(resp, body, status=status, headers=headers)


_bomb: bytes | None = None
_bomb_lock = threading.Lock()


def _gzip_bomb() -> bytes:
    global _bomb
    with _bomb_lock:
        if _bomb is None:
            _bomb = gzip.compress(b"\0" * _BOMB_BYTES, compresslevel=9)
        return _bomb


def gzip_bomb(resp: Response, rng: random.Random) -> Response:
    # Half the time the body is not gzip at all, although it says so.
    body = _gzip_bomb() if rng.random() < 0.5 else resp.body
    return _replace(resp, body, status=200, headers={"Content-Encoding": "gzip"})


def drip(resp: Response, rng: random.Random) -> Response:
    return _replace(resp, resp.body, framing="drip")


KINDS: dict[str, Callable[[Response, random.Random], Response]] = {
    "wrong_types": wrong_types,
    "odd_values": odd_values,
    "nulls": nulls,
    "wrong_shapes": wrong_shapes,
    "truncated": truncated,
    "cut_off": cut_off,
    "html": html,
    "huge": huge,
    "huge_unframed": huge_unframed,
    "empty": empty,
    "wrong_content_type": wrong_content_type,
    "invalid_utf8": invalid_utf8,
    "swapped_format": swapped_format,
    "deep_nesting": deep_nesting,
    "not_http": not_http,
    "odd_status": odd_status,
    "gzip_bomb": gzip_bomb,
    "drip": drip,
}
# Kinds that hold a connection for seconds: only drawn when named.
SLOW_KINDS = ("drip",)
DEFAULT_KINDS = tuple(k for k in KINDS if k not in SLOW_KINDS)


def make(kind: str, resp: Response, seed: int) -> Response:
    """The garbage of ``kind`` made from the real answer ``resp`` (``seed`` replays it)."""
    return KINDS[kind](resp, random.Random(seed))
