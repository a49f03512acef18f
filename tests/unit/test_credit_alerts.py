"""Alerts, sinks' configuration, signatures, e-mail rendering: no network."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr, ValidationError

from nusaworker.credit.alerts import Alert, Alerter, AlertKind, Severity
from nusaworker.credit.errors import AlertDeliveryError
from nusaworker.credit.sinks import LogSink, SmtpSink, WebhookSink, build_sinks, sign, verify
from nusaworker.credit.sinks.smtp import render_email
from nusaworker.credit.sinks.webhook import url_origin
from nusaworker.errors import ConfigurationError
from nusaworker.settings import Settings

ALERT = Alert(
    kind=AlertKind.BREAKER_OPENED,
    severity=Severity.CRITICAL,
    account="nusasms:abc",
    title="paused wa (credit)",
    text="Sending on wa is paused.",
    details={"channels": ["wa"], "reason": "credit"},
    at=1700000000.0,
)


class Recording:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.got: list[Alert] = []

    def send(self, alert: Alert) -> None:
        if self.fail:
            raise AlertDeliveryError("receiver down")
        self.got.append(alert)


def test_alerter_keeps_going_past_a_failing_sink_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, broken, last = Recording("a"), Recording("b", fail=True), Recording("c")
    with caplog.at_level(logging.ERROR, logger="nusaworker.credit.alerts"):
        delivered = Alerter([first, broken, last]).send(ALERT)
    assert delivered == ["a", "c"]
    assert first.got == last.got == [ALERT]
    assert "alert sink b failed" in caplog.text and ALERT.title in caplog.text


def test_log_sink_logs_one_structured_line_at_the_alerts_severity(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="nusaworker.alerts"):
        LogSink().send(ALERT)
    [record] = caplog.records
    assert record.levelno == logging.CRITICAL
    assert record.alert == ALERT.to_dict()  # type: ignore[attr-defined]
    message = record.getMessage()
    assert message.startswith("ALERT breaker_opened: paused wa (credit) {")
    assert json.loads(message[message.index("{") :]) == ALERT.to_dict()


def test_signature_verifies_only_the_same_body_secret_and_fresh_time() -> None:
    body = json.dumps(ALERT.to_dict()).encode()
    header = sign(SecretStr("s3cret"), body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", body, header, now=1_700_000_100)
    assert not verify("s3cret", body + b" ", header, now=1_700_000_100)
    assert not verify("other", body, header, now=1_700_000_100)
    assert not verify("s3cret", body, header, now=1_700_000_000 + 301)
    assert not verify("s3cret", body, "garbage", now=1_700_000_000)


def test_webhook_sink_needs_an_http_url_and_a_secret_and_hides_it() -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        WebhookSink("https://hooks.example/alerts", secret="")
    with pytest.raises(ConfigurationError, match="URL"):
        WebhookSink("ftp://x", secret="k")
    sink = WebhookSink("https://hooks.example/alerts", secret="topsecret-value")
    assert "topsecret-value" not in repr(sink) and "topsecret-value" not in str(vars(sink))


def test_webhook_sink_shows_only_the_origin_of_its_url() -> None:
    """A Slack-style incoming hook is its URL: its path never appears in a repr or an error."""
    hook = "https://hooks.example:8443/services/T0/B0/hook-path-is-the-key?sig=q-secret"
    sink = WebhookSink(SecretStr(hook), secret="k")
    assert repr(sink) == "WebhookSink(origin='https://hooks.example:8443')"
    assert "hook-path-is-the-key" not in repr(sink) and "q-secret" not in repr(sink)
    assert url_origin("http://user:pw@host.example/x") == "http://host.example"
    assert url_origin("https://h.example:notaport/x") == "https://h.example"


def test_smtp_sink_needs_a_server_sender_and_recipients_and_hides_the_password() -> None:
    with pytest.raises(ConfigurationError):
        SmtpSink(host="", sender="a@x", recipients=["b@y"])
    with pytest.raises(ConfigurationError):
        SmtpSink(host="mail", sender="a@x", recipients=[])
    sink = SmtpSink(host="mail", sender="a@x", recipients=["b@y"], password="pw-do-not-show")
    assert "pw-do-not-show" not in repr(sink) and "pw-do-not-show" not in str(vars(sink))


def test_render_email_puts_severity_and_title_in_the_subject_and_the_facts_in_the_body() -> None:
    message = render_email(ALERT, sender="fleet@example.org", recipients=["ops@example.org", "x@y"])
    assert message["Subject"] == "[nusaworker] CRITICAL: paused wa (credit)"
    assert message["To"] == "ops@example.org, x@y"
    assert message["X-Nusaworker-Alert"] == "breaker_opened"
    body = message.get_content()
    assert body.startswith("Sending on wa is paused.")
    assert '"reason": "credit"' in body


def test_build_sinks_follows_the_settings() -> None:
    settings = Settings(
        alert_sinks="log, webhook,smtp",  # type: ignore[arg-type]
        alert_webhook_url="http://127.0.0.1:9/alerts",
        alert_webhook_secret=SecretStr("k"),
        alert_smtp_host="127.0.0.1",
        alert_smtp_from="fleet@example.org",
        alert_smtp_to="ops@example.org,dev@example.org",  # type: ignore[arg-type]
    )
    sinks = build_sinks(settings)
    assert [s.name for s in sinks] == ["log", "webhook", "smtp"]
    assert isinstance(sinks[2], SmtpSink) and sinks[2].recipients == [
        "ops@example.org",
        "dev@example.org",
    ]
    assert [s.name for s in build_sinks(Settings())] == ["log"]  # the default
    with pytest.raises(ConfigurationError, match="unknown sink 'pager'"):
        build_sinks(Settings(alert_sinks=["pager"]))


def test_settings_refuse_an_unknown_balance_type() -> None:
    with pytest.raises(ValidationError, match="unknown balance types"):
        Settings(balance_thresholds={"wa": 1.0, "gold": 2.0})
    assert Settings().breaker_probe_interval_s <= 30
