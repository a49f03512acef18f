"""Strict parsing of every push format of seed 001 (pure: no server, no Redis)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nusaworker.tracking import pushes
from nusaworker.tracking.errors import PushRejected


def test_status_from_query_reads_the_documented_fields() -> None:
    push = pushes.status_from_query(
        {"ref_no": "NS00ABC1", "status": "D", "sent_date": "2022-08-12 10:22:50", "err_code": "0"}
    )

    assert (push.ref_no, push.status, push.date, push.err_code) == (
        "NS00ABC1",
        "D",
        "2022-08-12 10:22:50",
        "0",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "D"},
        {"ref_no": "", "status": "D"},
        {"ref_no": "NS1", "status": ""},
        {"ref_no": "NS1"},
        {"ref_no": "NS1 ; DROP", "status": "D"},
        {"ref_no": "x" * 101, "status": "D"},
        {"ref_no": "NS1", "status": "D", "sent_date": "yesterday"},
        {"ref_no": "NS1", "status": "<script>"},
    ],
)
def test_status_from_query_refuses_missing_or_malformed_fields(fields: dict[str, str]) -> None:
    with pytest.raises(PushRejected) as info:
        pushes.status_from_query(fields)

    assert info.value.status == 400


def test_status_from_query_accepts_unknown_codes_and_extra_fields() -> None:
    push = pushes.status_from_query({"ref_no": "NS1", "status": "NEW_CODE", "extra": "x"})

    assert push.status == "NEW_CODE"


def test_official_status_reads_json_fields() -> None:
    push = pushes.official_status(
        {"ref_no": "NS2", "status": "read", "status_date": "2022-08-12 10:22:50"}
    )

    assert (push.ref_no, push.status) == ("NS2", "read")


def test_official_status_refuses_nested_values() -> None:
    with pytest.raises(PushRejected):
        pushes.official_status({"ref_no": {"$gt": ""}, "status": "read"})


def test_inbound_from_form_maps_the_documented_names() -> None:
    inbound = pushes.inbound_from_form(
        "wa",
        {
            "id": "IN1",
            "gateway_number": "628111",
            "originator": "6281234567890",
            "receive_date": "2022-08-12 10:50:13",
            "msg": "halo",
        },
    )

    assert inbound.provider_id == "IN1"
    assert inbound.sender == "6281234567890"
    assert inbound.text == "halo"
    assert inbound.gateway_number == "628111"


@pytest.mark.parametrize(
    "fields",
    [
        {"originator": "6281234567890", "msg": "x"},
        {"id": "IN1", "msg": "x"},
        {"id": "IN1", "originator": "not-a-number", "msg": "x"},
    ],
)
def test_inbound_from_form_refuses_missing_id_or_bad_sender(fields: dict[str, str]) -> None:
    with pytest.raises(PushRejected):
        pushes.inbound_from_form("sms", fields)


def test_official_inbound_needs_a_room() -> None:
    good = {
        "room_id": "b0c1",
        "ref_no": "XX05",
        "text": "Pesan inbox",
        "inbox_date": "2022-08-12 10:50:13",
        "sender_number": "628123456789",
    }

    inbound = pushes.official_inbound(good)

    assert (inbound.channel, inbound.provider_id, inbound.room_id) == (
        "wa_official",
        "XX05",
        "b0c1",
    )
    with pytest.raises(PushRejected):
        pushes.official_inbound({**good, "room_id": ""})


def test_phone_check_reads_results_and_refuses_an_empty_list() -> None:
    result = pushes.phone_check(
        {"phone_numbers": [{"phone_number": "6281234567890", "is_registered": True}]}
    )

    assert result.phone_numbers[0].is_registered is True
    with pytest.raises(PushRejected):
        pushes.phone_check({"phone_numbers": []})


def test_form_fields_reads_urlencoded_and_multipart() -> None:
    assert pushes.form_fields(b"a=1&b=%20x&a=2", "application/x-www-form-urlencoded") == {
        "a": "1",
        "b": " x",
    }
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\nIN9\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="msg"\r\n\r\nhalo dunia\r\n'
        f"--{boundary}--\r\n"
    ).encode()

    fields = pushes.form_fields(body, f"multipart/form-data; boundary={boundary}")

    assert fields == {"id": "IN9", "msg": "halo dunia"}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{}", "text/plain", 415),
        (b"[1, 2]", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_json_object_refuses_other_types_and_malformed_bodies(
    body: bytes, content_type: str, status: int
) -> None:
    with pytest.raises(PushRejected) as info:
        pushes.json_object(body, content_type)

    assert info.value.status == status


def test_json_object_accepts_a_charset_parameter() -> None:
    data: dict[str, Any] = pushes.json_object(
        json.dumps({"a": 1}).encode(), "application/json; charset=utf-8"
    )

    assert data == {"a": 1}


def test_form_fields_refuses_json_where_a_form_is_expected() -> None:
    with pytest.raises(PushRejected) as info:
        pushes.form_fields(b'{"id": 1}', "application/json")

    assert info.value.status == 415
