"""Reading SMS v3 answers: the documents' JSON and XML samples, command answers, garbage."""

from __future__ import annotations

import pytest

from nusaworker.providers import SmsCredits, SmsDeliveryReport, SmsGroupResult, SmsSendResult
from nusaworker.providers.nusasms.models.sms import parse_sms_results

# The documents' own samples, verbatim.
XML_OK = (
    '<?xml version="1.0" encoding="UTF-8"?> <results> <result> <status>0</status> '
    "<messageid>175041319203754627</messageid> <destination>6285100803380</destination> "
    "</result> </results>"
)
JSON_OK = (
    '{ "results": [{ "status": "0", "messageid": "175041319203754627", '
    '"destination": "628510080XXXX" }] }'
)
XML_GROUP = """<?xml version="1.0" encoding="UTF-8"?>
<results>
  <result>
    <status>0</status>
    <campaign_name>Group-Api-Campaign-cf27252-5101</campaign_name>
    <group>Example</group>
  </result>
</results>"""
JSON_BAD_LOGIN = (
    '{ "results": [{ "status": "-5", "messageid": "", "destination": "6285100803380" }] }'
)


@pytest.mark.parametrize("body", [XML_OK, JSON_OK, XML_OK.encode(), JSON_OK.encode()])
def test_parse_sms_results_reads_send_answers_in_both_formats(body: str | bytes) -> None:
    results = parse_sms_results(body)
    assert len(results) == 1
    sent = SmsSendResult.model_validate(results[0])
    assert sent.ref_no == "175041319203754627" == sent.messageid
    assert sent.status == 0


def test_parse_sms_results_ignores_a_wrong_content_type() -> None:
    assert parse_sms_results(XML_OK, "application/json")[0]["status"] == "0"
    assert parse_sms_results(JSON_OK, "text/xml")[0]["status"] == "0"


def test_parse_sms_results_reads_group_answer() -> None:
    group = SmsGroupResult.model_validate(parse_sms_results(XML_GROUP)[0])
    assert group.ref_no == "Group-Api-Campaign-cf27252-5101" == group.campaign_name
    assert group.group == "Example"


def test_parse_sms_results_keeps_error_status_and_empty_messageid() -> None:
    row = parse_sms_results(JSON_BAD_LOGIN)[0]
    assert row["status"] == "-5" and row["messageid"] == ""


@pytest.mark.parametrize(
    "body",
    [
        '{"results": [{"status": "0", "type": "sms", "credits": "1234.0", '
        '"expired_date": "2027-12-31"}]}',
        "<results><result><status>0</status><type>sms</type><credits>1234.0</credits>"
        "<expired_date>2027-12-31</expired_date></result></results>",
        '{"status": 0, "type": "sms", "credits": 1234, "expired_date": "2027-12-31"}',
        "<results><status>0</status><credits>1,234.0</credits></results>",
    ],
)
def test_parse_sms_results_reads_credits_tolerantly(body: str) -> None:
    credits = SmsCredits.model_validate(parse_sms_results(body)[0])
    assert credits.credits == 1234.0 and credits.status == 0


@pytest.mark.parametrize(
    "body",
    [
        '{"results": [{"status": "0", "ref_no": "X", "dr_status": "DELIVERED", '
        '"sent_date": "2024-01-31 10:00:00", "err_code": "0"}]}',
        "<results><result><status>0</status><ref_no>X</ref_no><dr_status>DELIVERED</dr_status>"
        "<sent_date>2024-01-31 10:00:00</sent_date><err_code>0</err_code></result></results>",
    ],
)
def test_parse_sms_results_reads_delivery_report(body: str) -> None:
    report = SmsDeliveryReport.model_validate(parse_sms_results(body)[0])
    assert report.ref_no == "X" and report.is_delivered and report.err_code == "0"
    assert report.sent_date is not None and not isinstance(report.sent_date, str)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('{"results": [{"status": "0", "messageid"', "not valid JSON"),
        ("<results><result><status>0</status>", "not well-formed"),
        ("<html><body>Bad Gateway</body></html>", "no <result>"),
        ("OK 12345", "neither JSON nor XML"),
        ('{"results": "nope"}', "not a list"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><results/>', "DOCTYPE"),
        ('{"results": [{"status": {"nested": 1}}]}', "nested"),
    ],
)
def test_parse_sms_results_refuses_garbage(body: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_sms_results(body, "text/html")
