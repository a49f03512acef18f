"""WAChat's pure pieces: status letters, request and answer models, the inbox push parser, the
answer table against the shared taxonomy, the family entry."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from nusaworker.errors import ConfigurationError
from nusaworker.providers import PROVIDERS, PermanentError
from nusaworker.providers.errors import class_for_status
from nusaworker.providers.nusasms.envelope import read_envelope
from nusaworker.providers.wachat import (
    FAMILY,
    GatewayBalance,
    WAChatClient,
    WAChatMediaRequest,
    WAChatMessageRequest,
    WAChatMessageStatus,
    WAChatStatus,
    account_fingerprint,
    parse_inbox,
)
from nusaworker.providers.wachat.codes import ANSWERS

# ------------------------------------------------------------------------ statuses


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("U", WAChatStatus.UNSEND),
        ("UNSEND", WAChatStatus.UNSEND),
        ("un-sent", WAChatStatus.UNSEND),
        ("Q", WAChatStatus.QUEUE),
        ("QUEUE", WAChatStatus.QUEUE),
        ("S", WAChatStatus.SENT),
        ("delivered", WAChatStatus.DELIVERED),
        ("R", WAChatStatus.READ),
        (" aborted ", WAChatStatus.ABORTED),
    ],
)
def test_wachat_status_reads_letters_and_names(text: str, status: WAChatStatus) -> None:
    assert WAChatStatus(text) is status


def test_wachat_status_has_no_f() -> None:
    with pytest.raises(ValueError):
        WAChatStatus("F")
    assert {s.value for s in WAChatStatus} == set("UQSDRA")


def test_wachat_status_final_delivered_failed() -> None:
    assert {s for s in WAChatStatus if s.is_final} == {WAChatStatus.READ, WAChatStatus.ABORTED}
    assert {s for s in WAChatStatus if s.is_delivered} == {
        WAChatStatus.DELIVERED,
        WAChatStatus.READ,
    }
    assert {s for s in WAChatStatus if s.is_failed} == {WAChatStatus.ABORTED}


def test_wachat_message_status_keeps_unknown_status_and_new_fields() -> None:
    known = WAChatMessageStatus.model_validate(
        {"status": "D", "sent_date": "2019-08-24T14:15:22Z", "read_date": "", "new_field": 1}
    )
    assert known.status is WAChatStatus.DELIVERED and not known.is_final
    assert isinstance(known.sent_date, datetime) and known.read_date is None
    assert known.model_extra == {"new_field": 1}
    unknown = WAChatMessageStatus.model_validate({"status": "F", "create_date": "yesterday"})
    assert unknown.status == "F" and not unknown.is_final and unknown.create_date == "yesterday"
    assert WAChatMessageStatus.model_validate({"status": "R"}).is_final


# ------------------------------------------------------------------------ requests


def test_wachat_message_request_serializes_only_set_fields() -> None:
    req = WAChatMessageRequest(destination="+6281234567890", message="hi", queue=" device ")
    assert req.to_json_body() == {
        "is_group": False,
        "destination": "6281234567890",
        "queue": "device",
        "message": "hi",
    }


def test_wachat_message_request_refuses_bad_input_naming_the_field() -> None:
    for data, field in [
        ({"destination": "abc", "message": "x"}, "destination"),
        ({"destination": "6281234567", "message": ""}, "message"),
        ({"destination": "6281234567", "message": "x", "timeout": -1}, "timeout"),
        ({"destination": "6281234567", "message": "x", "channel": 1}, "channel"),
        ({"destination": "628123-456", "message": "x"}, "is_group"),
    ]:
        with pytest.raises(ValidationError) as info:
            WAChatMessageRequest(**data)
        assert field in str(info.value)


def test_wachat_group_destination_needs_is_group() -> None:
    req = WAChatMessageRequest(destination="628123456-1234567", message="x", is_group=True)
    assert req.destination == "628123456-1234567"


def test_wachat_media_request_needs_media_and_valid_inputs() -> None:
    with pytest.raises(ValidationError, match="media_url or media_base64"):
        WAChatMediaRequest(destination="6281234567")
    with pytest.raises(ValidationError, match="media_url"):
        WAChatMediaRequest(destination="6281234567", media_url="ftp://x/a.png")
    with pytest.raises(ValidationError, match="base64"):
        WAChatMediaRequest(destination="6281234567", media_base64="@@")
    # No types or sizes are stated by the document: any file goes.
    req = WAChatMediaRequest(destination="6281234567", media_base64="aGk=", file_name="a.docx")
    assert req.to_json_body()["file_name"] == "a.docx"


def test_wachat_gateway_balance_remaining() -> None:
    gateway = GatewayBalance.model_validate(
        {"idClient": 1, "name": "62811", "counter": 4, "limit": 4}
    )
    assert gateway.remaining == 0 and gateway.is_exhausted
    open_ended = GatewayBalance.model_validate({"idClient": 1, "name": "62811", "counter": 9})
    assert open_ended.remaining is None and not open_ended.is_exhausted


# ------------------------------------------------------------------------ inbox push


def test_wachat_parse_inbox_from_body_and_fields() -> None:
    body = (
        b"id=77&gateway_number=6281200000001&originator=628777"
        b"&receive_date=2022-08-12+10%3A22%3A50&msg=Halo+%F0%9F%98%80"
    )
    inbox = parse_inbox(body)
    assert inbox.id == "77" and inbox.sender == "628777" and inbox.text == "Halo \U0001f600"
    assert inbox.receive_date == datetime(2022, 8, 12, 10, 22, 50)
    assert inbox.gateway_number == "6281200000001"
    same = parse_inbox(body.decode())
    assert same == inbox
    extra = parse_inbox({"id": "1", "originator": "62", "msg": "", "media_url": "https://x"})
    assert extra.model_extra == {"media_url": "https://x"} and extra.receive_date is None


def test_wachat_parse_inbox_refuses_a_push_without_id_or_originator() -> None:
    with pytest.raises(ValidationError, match="originator"):
        parse_inbox({"id": "1", "msg": "x"})
    with pytest.raises(ValidationError, match="id"):
        parse_inbox("originator=628&msg=x")


# ------------------------------------------------------------------------ answers, family


def test_wachat_answers_agree_with_the_shared_taxonomy() -> None:
    for answer in ANSWERS:
        assert class_for_status(answer.status, is_send=True) is answer.on_send, answer
        assert class_for_status(answer.status, is_send=False) is answer.on_read, answer


def test_wachat_error_true_in_a_2xx_is_permanent() -> None:
    body = b'{"error": true, "message": "Sender not active", "data": null}'
    with pytest.raises(PermanentError, match="Sender not active"):
        read_envelope(200, body, is_send=True)


def test_wachat_family_is_registered() -> None:
    assert PROVIDERS["wachat"] is FAMILY
    assert FAMILY.credentials == ("api_key",)
    assert FAMILY.default_base_url == "https://api.wachat-api.com"
    with pytest.raises(ConfigurationError, match="sms_user"):
        FAMILY.build(credentials={"sms_user": "x"})


def test_wachat_client_fingerprint_repr_and_missing_key() -> None:
    client = WAChatClient(api_key="secret-key-123")
    assert client.account == account_fingerprint("secret-key-123")
    assert client.account.startswith("wachat:") and "secret-key-123" not in repr(client)
    assert "secret-key-123" not in str(vars(client))
    assert WAChatClient(api_key="k", account="wachat:custom").account == "wachat:custom"
    bare = WAChatClient()
    with pytest.raises(ConfigurationError, match="api_key"):
        bare.get_account()
    client.close()
    bare.close()
