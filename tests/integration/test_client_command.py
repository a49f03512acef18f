"""The SMS command API (CREDITS, DR) over real sockets: a GET with the login in the query string,
as seed 000 documents it, whose credentials never reach a log line, an error or a repr; and
answers of undocumented shape read without crashing."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from nusaworker.providers import NusaSMSClient, TransientError
from nusaworker.providers.gate import Priority
from nusaworker.testing.receiver import Receiver

pytestmark = pytest.mark.integration

USER_LEAK = "USER-do-not-leak-3131"
PASSWORD_LEAK = "PW-do-not-leak/+&9191"  # URL-encoding changes it: both forms must stay out


class NoWaitGate:
    """A Gate that never waits (the tests count hits, not their spacing)."""

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        pass

    def penalize(self, account: str, seconds: float) -> None:
        pass


def client_for(url: str, **options: Any) -> NusaSMSClient:
    defaults: dict[str, Any] = {
        "base_url": url,
        "sms_user": "user",
        "sms_password": "pass",
        "gate": NoWaitGate(),
        "sleep": lambda seconds: None,  # retries are not waited for here
        "read_timeout": 5.0,
    }
    return NusaSMSClient(**{**defaults, **options})


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_client_command_is_a_get_with_the_login_in_the_query(receiver: Receiver) -> None:
    with client_for(receiver.url) as client:
        client.get_sms_credits()
        client.get_sms_delivery_report("175041319203754627")
    credits, dr = receiver.requests
    assert (credits.method, credits.path, credits.body) == ("GET", "/api/command", b"")
    assert credits.query == {
        "user": "user",
        "password": "pass",
        "cmd": "CREDITS",
        "type": "sms",
        "output": "json",
    }
    assert dr.method == "GET"
    assert dr.query["cmd"] == "DR" and dr.query["ref_no"] == "175041319203754627"


def test_client_command_against_the_sandbox(make_sandbox: Callable[..., Any]) -> None:
    box = make_sandbox(min_interval_ms=0, seed=5, status_step_s=0.05)
    with client_for(box.url) as client:
        sent = client.send_sms("6281234567", "hi")
        credits = client.get_sms_credits()
        assert credits.known and credits.credits == 1_000_000.0 - 1
        assert str(credits.expired_date) == "2027-12-31"
        report = client.get_sms_delivery_report(sent.ref_no)
        assert report.known and report.ref_no == sent.ref_no
        assert report.state in ("pending", "delivered", "failed")
    assert [(h["method"], h["path"]) for h in box.hits()][1:] == [("GET", "/api/command")] * 2


def test_client_command_credentials_never_in_logs_errors_or_reprs(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 prints every request line at DEBUG
    texts: list[str] = []
    with client_for(receiver.url, sms_user=USER_LEAK, sms_password=PASSWORD_LEAK) as client:
        answer = client.get_sms_credits()  # a success: the request line is logged
        texts += [repr(client), repr(answer), answer.raw]
        # The user name is no secret (settings keep it as plain text): only the password is
        # held to vars() too.
        assert PASSWORD_LEAK not in str(vars(client))
    assert receiver.requests[0].query["password"] == PASSWORD_LEAK  # it did travel, in the URL
    dead = f"http://127.0.0.1:{closed_port()}"
    with client_for(dead, sms_user=USER_LEAK, sms_password=PASSWORD_LEAK, max_attempts=2) as c:
        with pytest.raises(TransientError) as refused:
            c.get_sms_delivery_report("123")
        texts.append(repr(c))
    error = refused.value
    texts += [str(error), repr(error), "".join(traceback.format_exception(error)), caplog.text]
    assert "could not connect" in str(error)
    assert error.__cause__ is None and error.__suppress_context__
    joined = "\n".join(texts)
    for secret in (USER_LEAK, PASSWORD_LEAK, "PW-do-not-leak%2F%2B%269191"):
        assert secret not in joined
    assert "/api/command" in caplog.text  # the lines are there, only masked
    assert "password=***" in caplog.text


def test_client_command_answer_of_unknown_shape_is_typed_unknown(receiver: Receiver) -> None:
    # The receiver answers a plain 200 "ok": not JSON, not XML, no figure, no status word.
    with client_for(receiver.url) as client:
        credits = client.get_sms_credits()
        report = client.get_sms_delivery_report("42")
    assert (credits.known, credits.credits, credits.raw) == (False, None, "ok")
    assert (report.known, report.state, report.dr_status, report.raw) == (
        False,
        "unknown",
        None,
        "ok",
    )
    assert report.ref_no == "42"
    assert len(receiver.requests) == 2  # read once each: an unknown answer is not retried
