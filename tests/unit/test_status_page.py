"""The status app called as a WSGI function (no server, no Redis): its answers to tokens, and
the page it renders from a set of figures."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from typing import Any

import pytest
import redis

from nusaworker.errors import ConfigurationError
from nusaworker.status import StatusApp
from nusaworker.status.board import PRIORITY_NAMES

TOKEN = "unit-status-token-0123456789"


def figures() -> dict[str, Any]:
    return {
        "at": 1_800_000_000.0,
        "accounts": [
            {
                "name": "nusasms", "provider": "nusasms", "rule_per_s": 20.0, "hits_per_s": 19.5,
                "utilisation": 0.975, "hits": 1234, "waiting": 3, "busy": True,
                "last_hit_age_s": 0.01,
            }
        ],
        "queues": [
            {"name": "sms", "depth": 4, "priorities": {"otp": 0, "normal": 1, "bulk": 3, "9": 0}}
        ],
        "unacked": 2,
        "campaigns": [
            {
                "id": "c1", "name": "<script>alert(1)</script>", "channel": "wa",
                "state": "running", "rows": 200, "dispatched": 90, "done": 50, "percent": 25,
                "messages": {"sent": 40, "delivered": 10}, "skipped": 0,
            }
        ],
        "credit": [
            {
                "account": "nusasms", "read_at": 1_800_000_000.0,
                "balances": [
                    {"type": "wa", "balance": 42.0, "threshold": 100.0, "low": True,
                     "expires": None}
                ],
                "breakers": [
                    {"channel": "sms", "reason": "credit", "since": 1_800_000_000.0, "held": 7}
                ],
            }
        ],
        "failures": [
            {"at": 1_800_000_000.0, "id": "m1", "channel": "wa", "destination": "628*******890",
             "state": "rejected", "reason": "PermanentError: HTTP 422 <b>bad</b>"}
        ],
        "failures_kept": 1,
    }  # fmt: skip


def call(
    app: StatusApp, path: str, *, query: str = "", method: str = "GET", **headers: str
) -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, header_list: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(header_list)

    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(b""), **headers,
    }  # fmt: skip
    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.fixture
def app() -> StatusApp:
    return StatusApp(figures, token=TOKEN)


def test_status_app_answers_by_token(app: StatusApp) -> None:
    assert call(app, "/status")[0].startswith("401")
    assert call(app, "/status")[1]["WWW-Authenticate"] == 'Bearer realm="status"'
    assert call(app, "/status", query="token=" + TOKEN[:-1])[0].startswith("403")
    assert call(app, "/status", HTTP_AUTHORIZATION="Bearer nope")[0].startswith("403")
    assert call(app, "/status", HTTP_AUTHORIZATION="Basic " + TOKEN)[0].startswith("401")
    assert call(app, "/status", query="token=" + TOKEN)[0].startswith("200")
    status, headers, body = call(app, "/status.json", HTTP_AUTHORIZATION="Bearer " + TOKEN)
    assert status.startswith("200") and json.loads(body) == figures()
    assert headers["Cache-Control"] == "no-store"
    head = call(app, "/status", query="token=" + TOKEN, method="HEAD")
    assert head[0].startswith("200") and head[2] == b"" and int(head[1]["Content-Length"]) > 0
    assert call(app, "/status", query="token=" + TOKEN, method="POST")[0].startswith("405")
    assert call(app, "/statusx", query="token=" + TOKEN)[0].startswith("404")
    assert "***" in repr(app) and TOKEN not in repr(app)


def test_status_app_refuses_a_short_token() -> None:
    with pytest.raises(ConfigurationError):
        StatusApp(figures, token="short")


def test_status_app_answers_503_when_redis_does_not() -> None:
    def down() -> dict[str, Any]:
        raise redis.ConnectionError("refused")

    status, _, body = call(StatusApp(down, token=TOKEN), "/status", query="token=" + TOKEN)
    assert status.startswith("503") and b"refused" not in body


def test_status_page_shows_the_figures_escaped_and_never_the_token(app: StatusApp) -> None:
    _, headers, raw = call(app, "/status", query="token=" + TOKEN)
    page = raw.decode()
    assert TOKEN not in page
    assert 'data-account="nusasms" data-hits-per-s="19.5"' in page
    assert 'data-queue="sms" data-depth="4"' in page and 'data-priority-bulk="3"' in page
    assert '<progress max="200" value="50"></progress> 25%' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "&lt;b&gt;bad&lt;/b&gt;" in page and "628*******890" in page
    assert 'data-breaker="sms"' in page
    assert [f'<th class="n">{p}</th>' in page for p in PRIORITY_NAMES] == [True] * 4
    # The one inline script is the one the Content-Security-Policy lets run (by its hash).
    (script,) = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in headers["Content-Security-Policy"]
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere
