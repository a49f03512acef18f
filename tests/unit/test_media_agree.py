"""One table of media sends, held against the client's request model and the sandbox's endpoint.

The sandbox keeps its own copy of the media rules (it imports nothing of the product); this
table keeps the two from drifting: a send the client lets through must be one the sandbox
accepts, and one the client refuses must be one the sandbox refuses, naming the same field.
The sandbox's handler is called directly (no socket): the rules, not HTTP, are under test.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from nusaworker.providers import WhatsAppMediaRequest
from nusaworker.providers.nusasms import media as product_media
from nusaworker.sandbox import FaultProfile
from nusaworker.sandbox.accounts import Account
from nusaworker.sandbox.callbacks import Pusher
from nusaworker.sandbox.nusasms import media as sandbox_media
from nusaworker.sandbox.nusasms import wa
from nusaworker.sandbox.router import Ctx
from nusaworker.sandbox.state import SandboxState
from nusaworker.sandbox.wire import Invalid, Request

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 24
PDF = b"%PDF-1.7\n" + b"\0" * 24
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 24
WEBM = b"\x1a\x45\xdf\xa3" + b"\0" * 24


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sized(head: bytes, size: int) -> str:
    return b64(head + b"\0" * (size - len(head)))


# (fields of the send, the field a refusal names — None when it is accepted)
CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"media_url": "https://e.com/a.png"}, None),
    ({"media_url": "https://e.com/a.PDF"}, None),
    ({"media_url": "https://e.com/download?id=3"}, None),  # no extension: the provider's to see
    ({"media_url": "https://e.com/files/report"}, None),
    ({"media_url": "https://e.com/a.gif"}, "media_url"),
    ({"media_url": "https://e.com/a.exe", "file_name": "a.pdf"}, None),  # file_name names it
    ({"media_url": "https://e.com/a.png", "file_name": "a.gif"}, "file_name"),
    ({"media_url": "https://e.com/a.gif", "file_name": "photo"}, "media_url"),
    ({"media_base64": b64(PNG)}, None),  # file_name is optional: the content says PNG
    ({"media_base64": b64(JPEG)}, None),
    ({"media_base64": b64(PDF)}, None),
    ({"media_base64": b64(MP4)}, None),
    ({"media_base64": b64(WEBM)}, None),
    ({"media_base64": b64(b"GIF89a" + b"\0" * 10)}, "media_base64"),  # cannot tell: refused
    ({"media_base64": b64(b"GIF89a" + b"\0" * 10), "file_name": "a.png"}, None),
    ({"media_base64": b64(PNG), "file_name": "a.gif"}, "file_name"),
    ({"media_base64": b64(PNG), "file_name": "photo"}, None),  # no extension: content decides
    ({"media_base64": b64(PNG), "media_url": "https://e.com/a.exe"}, None),  # base64 wins
    ({"media_base64": "\n".join(base64.encodebytes(PNG * 8).decode().split())}, None),
    ({"media_base64": " " + b64(PNG) + "\r\n"}, None),
    ({"media_base64": "!!!" + b64(PNG)}, "media_base64"),
    ({"media_base64": b64(PNG)[:-1]}, "media_base64"),  # bad padding
    ({"media_base64": sized(PNG, 512_000)}, None),
    ({"media_base64": sized(PNG, 512_001)}, "media_base64"),
    ({"media_base64": sized(PNG, 524_288)}, "media_base64"),  # 512 KiB > 512 KB
    ({"media_base64": sized(PDF, 512_001), "file_name": "a.pdf"}, "media_base64"),
    ({"media_base64": sized(MP4, 1_000_000)}, None),
    ({"media_base64": sized(MP4, 1_000_001)}, "media_base64"),
    ({"media_base64": sized(WEBM, 1_048_576), "file_name": "v.webm"}, "media_base64"),
    ({}, "media_url"),
]


def _client_verdict(fields: dict[str, Any]) -> str | None:
    try:
        WhatsAppMediaRequest(destination="6281234567", **fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["loc"]:  # a field's own bound (nusaworker.limits): the field is named by loc
            return str(error["loc"][0])
        return str(error["msg"]).removeprefix("Value error, ").split(":")[0]
    return None


def _sandbox_verdict(fields: dict[str, Any]) -> str | None:
    account = Account(name="main", api_key="k")
    state = SandboxState(
        accounts=[account],
        min_interval_ms=0,
        enforce_rate=False,
        faults=FaultProfile(),
        callback_url=None,
        status_step_s=1.0,
        fail_rate=0.0,
        seed=1,
    )
    ctx = Ctx(state=state, pusher=Pusher(lambda ok: None))
    body = json.dumps({"destination": "6281234567", **fields}).encode()
    req = Request(
        method="POST",
        path="/nusasms_api/1.0/whatsapp/media",
        query={},
        headers={"apikey": "k", "content-type": "application/json"},
        body=body,
        arrival=time.monotonic(),
        account=account,
    )
    try:
        resp = wa.send_media(ctx, req, {})
    except Invalid as exc:
        return str(exc.detail[0]["loc"][-1])
    assert resp.status == 201, resp.body
    return None


@pytest.mark.parametrize(("fields", "refused"), CASES)
def test_media_client_matches_table(fields: dict[str, Any], refused: str | None) -> None:
    verdict = _client_verdict(fields)
    if refused == "media_url" and not fields:
        assert verdict is not None and "media_url" in verdict
    else:
        assert verdict == refused


@pytest.mark.parametrize(("fields", "refused"), CASES)
def test_media_sandbox_matches_table(fields: dict[str, Any], refused: str | None) -> None:
    assert _sandbox_verdict(fields) == refused


def test_media_rules_copies_are_the_same_code() -> None:
    # Two copies because the sandbox imports nothing of the product; below their docstrings
    # they must be one and the same.
    def code(module: Any) -> str:
        text = Path(module.__file__).read_text(encoding="utf-8")
        return text[text.index("from __future__") :]

    assert code(product_media) == code(sandbox_media)
