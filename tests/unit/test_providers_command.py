"""The command API's answers (CREDITS, DR): undocumented shapes read, unknown ones typed, never
a crash; the credentials of a query string masked in log lines."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from nusaworker.providers import AuthError, InsufficientCredit, PermanentError
from nusaworker.providers.nusasms.models.command import (
    DR_WORDS,
    read_credits,
    read_delivery_report,
)
from nusaworker.providers.nusasms.query import install_log_redaction, redact_query
from nusaworker.tracking.statuses import read_status


@pytest.mark.parametrize(
    "body",
    [
        # The shape the sandbox answers (the SMS API's own wrapper), JSON and XML.
        '{"results": [{"status": "0", "type": "sms", "credits": "1234.0", '
        '"expired_date": "2027-12-31"}]}',
        "<results><result><status>0</status><type>sms</type><credits>1234.0</credits>"
        "<expired_date>2027-12-31</expired_date></result></results>",
        # Bare, nested, renamed.
        '{"status": 0, "credits": 1234, "expired_date": "2027-12-31"}',
        '{"error": false, "data": {"credit": "1,234", "expiry_date": "2027-12-31"}}',
        '[{"balance": 1234.0, "expired": "2027-12-31"}]',
        "<response><sms><balance>1234</balance><valid_until>2027-12-31</valid_until></sms>"
        "</response>",
        # Plain text.
        "1234",
        "Credits: 1,234.0 (expired 2027-12-31)",
        '"1234"',
    ],
)
def test_read_credits_reads_any_plausible_shape(body: str) -> None:
    credits = read_credits(body)
    assert credits.known and credits.credits == 1234.0
    if "2027" in body:
        assert credits.expired_date == dt.date(2027, 12, 31)
    assert credits.raw == body.strip()


@pytest.mark.parametrize(
    "body",
    ["ok", '{"results": [{"status": "0"}]}', "<results/>", '{"message": "done"}', "null", "[]"],
)
def test_read_credits_unknown_shape_is_typed_unknown(body: str) -> None:
    credits = read_credits(body)
    assert (credits.known, credits.credits) == (False, None)
    assert credits.raw == body


@pytest.mark.parametrize(
    ("body", "word", "state"),
    [
        (
            '{"results": [{"status": "0", "ref_no": "X", "dr_status": "DELIVERED", '
            '"sent_date": "2024-01-31 10:00:00", "err_code": "0"}]}',
            "DELIVERED",
            "delivered",
        ),
        (
            "<results><result><status>0</status><ref_no>X</ref_no><dr_status>SENT</dr_status>"
            "</result></results>",
            "SENT",
            "pending",
        ),
        ('{"ref_no": "X", "status": "DELIVRD"}', "DELIVRD", "delivered"),  # status is the word
        (
            '{"data": {"messageid": "X", "dlr_status": "UNDELIV", "error_code": 5}}',
            "UNDELIV",
            "failed",
        ),
        ('{"status": "0", "message_id": "X", "delivery_status": "rejected"}', "rejected", "failed"),
        ("DELIVERED", "DELIVERED", "delivered"),
        ("status: QUEUED", "QUEUED", "pending"),
        ('{"status": "0", "ref_no": "X", "dr_status": "ON_HOLD"}', "ON_HOLD", "unknown"),
        ('{"status": "3", "ref_no": "X"}', "3", "unknown"),  # a positive code is kept, unread
    ],
)
def test_read_delivery_report_reads_any_plausible_shape(body: str, word: str, state: str) -> None:
    report = read_delivery_report(body, ref_no="X")
    assert (report.dr_status, report.state, report.ref_no) == (word, state, "X")
    assert report.known is (state != "unknown")
    assert report.is_final is (state in ("delivered", "failed"))


def test_read_delivery_report_keeps_dates_and_error_codes() -> None:
    body = '{"results": [{"status": "0", "ref_no": "X", "dr_status": "FAILED", "err_code": "1"}]}'
    report = read_delivery_report(body)
    assert (report.err_code, report.status, report.sent_date) == ("1", 0, None)


def test_read_delivery_report_unknown_shape_is_typed_unknown() -> None:
    report = read_delivery_report("<html><body>maintenance</body></html>", ref_no="Y")
    assert (report.state, report.known, report.dr_status, report.ref_no) == (
        "unknown",
        False,
        None,
        "Y",
    )


@pytest.mark.parametrize(
    ("body", "error", "code"),
    [
        ('{"results": [{"status": "-5"}]}', AuthError, -5),
        ("<results><result><status>-40</status></result></results>", AuthError, -40),
        ('{"status": "-7"}', InsufficientCredit, -7),
        ('{"results": [{"status": "-31", "ref_no": "9"}]}', PermanentError, -31),
        ('{"status": "-24"}', PermanentError, -24),
    ],
)
def test_read_command_documented_negative_status_raises_its_error(
    body: str, error: type[Exception], code: int
) -> None:
    with pytest.raises(error) as info:
        read_delivery_report(body)
    assert getattr(info.value, "provider_code", None) == code


@pytest.mark.parametrize("body", ["", "   ", '{"results": [{"status": "0", "cre', "<results><res"])
def test_read_command_damaged_body_is_unreadable(body: str) -> None:
    # Cut or empty: damaged on the way (a read is retried), not an answer of unknown shape.
    with pytest.raises(ValueError):
        read_credits(body)
    with pytest.raises(ValueError):
        read_delivery_report(body)


def test_read_command_raw_is_redacted_and_bounded() -> None:
    body = '{"echo": "/api/command?user=u&password=hunter2", "pad": "' + "x" * 5000 + '"}'
    credits = read_credits(body, redact=redact_query)
    assert "hunter2" not in credits.raw and len(credits.raw) == 2000


@pytest.mark.parametrize("word", sorted(DR_WORDS))
def test_dr_words_agree_with_the_tracking_table(word: str) -> None:
    # The client's reading of a DR word and the ledger's must be the same.
    reading = read_status("sms", word)
    expected = {"pending": "sent", "delivered": "delivered", "failed": "failed"}[DR_WORDS[word]]
    assert reading.state is not None and reading.state.value == expected


def test_redact_query_masks_credentials_in_any_spelling() -> None:
    line = "GET /api/command?user=u1&password=p%2F1&cmd=DR&Token=t HTTP/1.1"
    assert redact_query(line) == "GET /api/command?user=***&password=***&cmd=DR&Token=*** HTTP/1.1"


def test_install_log_redaction_filters_urllib3_request_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent: one filter, not two
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("urllib3.connectionpool")
    assert len(logger.filters) == 1
    logger.debug('%s://%s:%s "%s %s %s" %s %s', "http", "h", 80, "GET",
                 "/api/command?user=u&password=secret&cmd=CREDITS", "HTTP/1.1", 200, 5)  # fmt: skip
    assert "secret" not in caplog.text and "password=***&cmd=CREDITS" in caplog.text


def test_sms_credits_standing_reads_the_documented_signals() -> None:
    today = dt.date(2026, 6, 1)
    assert (
        read_credits('{"credits": "12", "expired_date": "2026-06-01"}').standing(today=today)
        == "ok"
    )
    assert (
        read_credits('{"credits": "0", "expired_date": "2027-01-01"}').standing(today=today)
        == "empty"
    )
    assert (
        read_credits('{"credits": "9", "expired_date": "2026-05-31"}').standing(today=today)
        == "expired"
    )
    assert read_credits("ok").standing(today=today) == "unknown"
