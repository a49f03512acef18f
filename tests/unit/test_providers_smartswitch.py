"""SmartSwitch (seed 003) pure logic: request groups, answers → results, codes, redaction."""

from __future__ import annotations

import json
import logging
import traceback

import pytest
import requests
from pydantic import ValidationError

from nusaworker.errors import ConfigurationError
from nusaworker.providers import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)
from nusaworker.providers.smartswitch import (
    MAX_DESTINATIONS,
    MessageRequest,
    SmartSwitchClient,
    account_fingerprint,
    error_class,
    estimate_cost,
    new_request_ids,
    sms_cost,
)
from nusaworker.providers.smartswitch.answer import read_answer, read_error_answer, status_of
from nusaworker.providers.smartswitch.redact import (
    install_log_filter,
    redact_query,
    scrub,
)

LOGIN = "LOGIN-do-not-leak-31"
PASSWORD = "PW-do-not-leak-8080"

# The document's own answers, verbatim.
DOC_ONE = b"""{ "data" : { "attributes" : { "destination_number" : "12123388100", "segments" : 1,
 "status" : "ok" }, "id" : "1561370632513", "meta" : { "request_id" : "1" },
 "type" : "message" } }"""
DOC_TWO = b"""{ "data" : [ { "attributes" : { "destination_number" : "12123388100",
 "segments" : 1, "status" : "ok" }, "id" : "1561371433517", "meta" : { "request_id" : "1" },
 "type" : "message" }, { "attributes" : { "destination_number" : "12123388101", "segments" : 1,
 "status" : "ok" }, "id" : "1561371433518", "meta" : { "request_id" : "2" },
 "type" : "message" } ] }"""
DOC_ERROR = b"""{ "errors" : [ { "code" : "authentication", "detail" : "Please check your login
 and password", "title" : "Authentication error" } ] }""".replace(b"\n", b"")


def row(number: str, status: str, request_id: str | None, **meta: object) -> dict[str, object]:
    m: dict[str, object] = dict(meta)
    if request_id is not None:
        m["request_id"] = request_id
    return {
        "attributes": {"destination_number": number, "segments": 2, "status": status},
        "id": f"id-{number}",
        "meta": m,
        "type": "message",
    }


def answer(*rows: dict[str, object]) -> bytes:
    return json.dumps({"data": rows[0] if len(rows) == 1 else list(rows)}).encode()


# ------------------------------------------------------------------------------ the request


def test_message_request_groups_repeat_every_argument_per_destination() -> None:
    request = MessageRequest(
        destinations=["+12123388100", "12123388101"], body="test", require_dlr=True
    )
    assert request.groups(["a", "b"]) == [
        ("destination_number", "12123388100"),
        ("body", "test"),
        ("require_dlr", "1"),
        ("request_id", "a"),
        ("destination_number", "12123388101"),
        ("body", "test"),
        ("require_dlr", "1"),
        ("request_id", "b"),
    ]


def test_message_request_body_required_unless_stealth_ping() -> None:
    with pytest.raises(ValidationError, match="body"):
        MessageRequest(destinations=["12123388100"], body=" ")
    ping = MessageRequest(destinations=["12123388100"], stealth_ping=True)
    assert ("stealth_ping", "1") in ping.groups(["x"])
    assert all(name != "body" for name, _ in ping.groups(["x"]))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"destinations": []}, "at least 1"),
        ({"destinations": ["12123388100"] * (MAX_DESTINATIONS + 1)}, "at most"),
        ({"destinations": ["12-123"]}, "destination 0"),
        ({"request_ids": ["only-one"]}, "one per destination"),
        ({"request_ids": ["same", "same"]}, "unique"),
        ({"request_ids": ["", "x"]}, "non-empty"),
        ({"sender": "x"}, "Extra inputs"),
    ],
)
def test_message_request_refuses_bad_input(fields: dict[str, object], message: str) -> None:
    data: dict[str, object] = {"destinations": ["12123388100", "12123388101"], "body": "hi"}
    with pytest.raises(ValidationError, match=message):
        MessageRequest.model_validate({**data, **fields})


def test_new_request_ids_are_unique_per_hit_and_destination() -> None:
    first, second = new_request_ids(3), new_request_ids(3)
    assert len(set(first)) == 3 and not set(first) & set(second)


# ---------------------------------------------------------------------------- the answers


CYR_O, CYR_K = "\u043e", "\u043a"


@pytest.mark.parametrize(
    "word", ["ok", "OK", " ok ", CYR_O + CYR_K, (CYR_O + CYR_K).upper(), CYR_O + "k", "o" + CYR_K]
)
def test_status_of_reads_both_ok_spellings(word: str) -> None:
    assert status_of(word) == "ok"


def test_status_of_error_and_anything_else() -> None:
    assert status_of("error") == "error"
    assert status_of("queued") == "unknown" and status_of(None) == "unknown"


def test_read_answer_document_single_example() -> None:
    batch = read_answer(200, DOC_ONE, ["12123388100"], ["mine-0"])
    [only] = batch.results
    assert only.ok and only.message_id == "1561370632513" and only.segments == 1
    assert only.request_id == "mine-0" and batch.cost == 1


def test_read_answer_document_two_recipients_example_matches_by_number() -> None:
    # The document's ids "1"/"2" are not ours: rows are matched by destination_number.
    batch = read_answer(200, DOC_TWO, ["12123388100", "12123388101"], ["a", "b"])
    assert [r.message_id for r in batch] == ["1561371433517", "1561371433518"]
    assert batch.all_ok and batch.cost == 2


def test_read_answer_matches_rows_by_request_id_in_any_order() -> None:
    body = answer(row("12123388101", "ok", "b"), row("12123388100", "ok", "a"))
    batch = read_answer(200, body, ["12123388100", "12123388101"], ["a", "b"])
    assert [r.id for r in batch] == ["id-12123388100", "id-12123388101"]


def test_read_answer_same_number_twice_matched_by_request_id() -> None:
    body = answer(
        {**row("12123388100", "error", "b"), "id": "second"},
        {**row("12123388100", "ok", "a"), "id": "first"},
    )
    batch = read_answer(200, body, ["12123388100", "12123388100"], ["a", "b"])
    assert [(r.id, r.status) for r in batch] == [("first", "ok"), ("second", "error")]


def test_read_answer_partial_success_keeps_each_error() -> None:
    body = answer(
        row("12123388100", "ok", "a"),
        row("12123388101", "error", "b", error={"code": "balance", "title": "No money"}),
        row("12123388102", "error", "c", errors=[{"code": "rejected", "detail": "no"}]),
        row("12123388103", "error", "d"),
    )
    numbers = ["12123388100", "12123388101", "12123388102", "12123388103"]
    batch = read_answer(200, body, numbers, ["a", "b", "c", "d"])
    assert [r.status for r in batch] == ["ok", "error", "error", "error"]
    assert batch.cost == 2 and len(batch.sent) == 1 and len(batch.failed) == 3
    errors = [r.error() for r in batch]
    assert errors[0] is None
    assert isinstance(errors[1], InsufficientCredit) and "No money" in str(errors[1])
    assert isinstance(errors[2], PermanentError) and batch.results[2].error_detail == "no"
    assert type(errors[3]) is PermanentError
    assert batch.results[1].message_id is None and batch.results[1].cost == 0


def test_read_answer_destination_missing_from_answer_is_unknown() -> None:
    body = answer(row("12123388100", "ok", "a"))
    batch = read_answer(200, body, ["12123388100", "12123388101"], ["a", "b"])
    assert [r.status for r in batch] == ["ok", "unknown"]
    assert isinstance(batch.for_request_id("b").error(), AmbiguousOutcome)


def test_read_answer_row_for_no_destination_is_unreadable() -> None:
    body = answer(row("19999999999", "ok", "zz"))
    with pytest.raises(ValueError, match="names no destination"):
        read_answer(200, body, ["12123388100"], ["a"])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502</html>",
        b'{"data": {"attr',
        b"[]",
        b'{"meta": {}}',
        b'{"data": {}, "errors": []}',
    ],
)
def test_read_answer_unreadable_bodies_raise_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        read_answer(200, body, ["12123388100"], ["a"])


def test_read_answer_document_error_example_in_a_200_is_auth_error() -> None:
    with pytest.raises(AuthError, match="Please check your login"):
        read_answer(200, DOC_ERROR, ["12123388100"], ["a"])


def test_read_error_answer_codes_win_over_status_and_unknown_codes_follow_it() -> None:
    assert isinstance(read_error_answer(401, DOC_ERROR), AuthError)
    balance = json.dumps({"errors": [{"code": "balance", "title": "t"}]}).encode()
    assert isinstance(read_error_answer(400, balance), InsufficientCredit)
    odd = json.dumps({"errors": [{"code": "zzz"}, {"code": "y"}]}).encode()
    assert type(read_error_answer(503, odd)) is TransientError
    assert "(+1 more)" in str(read_error_answer(400, odd))
    assert type(read_error_answer(400, odd)) is PermanentError
    assert read_error_answer(502, b"<html><title>502</title></html>") is None


def test_read_error_answer_redacts_what_the_server_echoed() -> None:
    echoed = json.dumps({"errors": [{"code": "validation", "detail": f"bad {PASSWORD}"}]})
    error = read_error_answer(400, echoed.encode(), redact=lambda t: t.replace(PASSWORD, "***"))
    assert error is not None and PASSWORD not in str(error)


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("authentication", None, AuthError),
        (" Authentication ", 500, AuthError),
        ("balance", None, InsufficientCredit),
        ("throttling", None, RateLimited),
        ("internal", None, TransientError),
        ("destination_number", None, PermanentError),
        ("something-new", None, PermanentError),
        ("something-new", 200, PermanentError),
        (None, 429, RateLimited),
        (None, 504, AmbiguousOutcome),
        (None, 402, InsufficientCredit),
    ],
)
def test_error_class_by_code_then_status(
    code: str | None, status: int | None, cls: type[ProviderError]
) -> None:
    assert error_class(code, status_code=status) is cls


# ------------------------------------------------------------------------ cost and account


def test_sms_cost_counts_segments_and_one_for_a_ping() -> None:
    assert sms_cost("hi") == 1 and sms_cost("x" * 161) == 2 and sms_cost("é€" * 40) == 1
    assert sms_cost("ж" * 71) == 2 and sms_cost(None) == 1
    assert estimate_cost(["1", "2", "3"], "x" * 161) == 6


def test_account_fingerprint_hides_login_and_depends_on_host() -> None:
    one = account_fingerprint("https://sms.a.example", LOGIN)
    assert one.startswith("smartswitch:") and LOGIN not in one
    assert one == account_fingerprint("https://SMS.A.example/", LOGIN)
    assert one != account_fingerprint("https://sms.b.example", LOGIN)


def test_client_without_credentials_or_host_refuses_before_any_hit() -> None:
    with SmartSwitchClient(base_url="http://127.0.0.1:9") as client:
        assert client.account == "smartswitch:unconfigured"
        with pytest.raises(ConfigurationError, match="login and password"):
            client.send_sms("12123388100", "hi")
    with SmartSwitchClient(login=LOGIN, password=PASSWORD) as client:
        with pytest.raises(ConfigurationError, match="base_url"):
            client.send_sms("12123388100", "hi")
        assert LOGIN not in repr(client) and PASSWORD not in repr(client)


# ------------------------------------------------------------------------------ redaction


def test_redact_query_plain_encoded_and_any_case() -> None:
    text = (
        f"/api/message?_login={LOGIN}&_password={PASSWORD}&body=x "
        f"%5Flogin%3D{LOGIN}%26 _PASSWORD={PASSWORD}'"
    )
    clean = redact_query(text)
    assert LOGIN not in clean and PASSWORD not in clean
    assert "_login=***&_password=***&body=x" in clean


def test_log_filter_redacts_urllib3_request_lines() -> None:
    install_log_filter()
    install_log_filter()  # idempotent
    logger = logging.getLogger("urllib3.connectionpool")
    assert len([f for f in logger.filters if type(f).__name__ == "_QueryRedactingFilter"]) == 1
    record = logger.makeRecord(
        logger.name,
        logging.DEBUG,
        __file__,
        1,
        '%s://%s:%s "%s %s %s" %s %s',
        ("http", "h", 80, "POST", f"/api/message?_login={LOGIN}&_password={PASSWORD}", "", 1, 9),
        None,
    )
    for f in logger.filters:
        f.filter(record)
    assert PASSWORD not in record.getMessage() and LOGIN not in record.getMessage()


def test_scrub_replaces_the_cause_with_a_redacted_copy() -> None:
    url = f"http://127.0.0.1:1/api/message?_login={LOGIN}&_password={PASSWORD}"
    cause = requests.ConnectionError(f"Max retries exceeded with url: {url}")
    cause.request = requests.Request("POST", url).prepare()  # type: ignore[assignment]
    try:
        try:
            raise cause
        except requests.ConnectionError as exc:
            raise TransientError(f"could not connect to {url}") from exc
    except TransientError as error:
        scrubbed = scrub(error, lambda t: t)
    text = "".join(traceback.format_exception(scrubbed))
    assert PASSWORD not in text and LOGIN not in text and "_password=***" in text
    assert isinstance(scrubbed.__cause__, requests.ConnectionError)
    assert scrubbed.__cause__.request is None
    assert PASSWORD not in repr(scrubbed) and PASSWORD not in str(scrubbed.__cause__)
