"""Credit cost of messages and lists: pure functions, no network."""

from __future__ import annotations

import pytest

from nusaworker.credit.cost import (
    MIN_COST,
    Cost,
    message_cost,
    messages_cost,
    preflight,
    sms_cost,
    wa_text_cost,
)
from nusaworker.ledger import MessageRecord


@pytest.mark.parametrize(
    ("length", "credits"),
    [(1, 1), (1499, 1), (1500, 1), (1501, 2), (3000, 2), (3001, 3), (0, 1)],
)
def test_wa_text_cost_is_one_credit_per_started_1500_chars(length: int, credits: int) -> None:
    assert wa_text_cost("x" * length) == credits


@pytest.mark.parametrize(
    ("text", "unicode", "segments"),
    [
        ("a" * 160, None, 1),
        ("a" * 161, None, 2),
        ("a" * 306, None, 2),
        ("a" * 307, None, 3),
        ("é" * 160, None, 1),  # é is in the GSM-7 basic table
        ("€" * 80, None, 1),  # 160 septets: each € is an escape pair
        ("€" * 81, None, 2),
        ("ü" * 70 + "ş", None, 2),  # ş needs UCS-2: 71 units
        ("ş" * 70, None, 1),
        ("a" * 70, True, 1),  # the unicode flag forces UCS-2 on plain text
        ("a" * 71, True, 2),
        ("a" * 71, False, 1),
    ],
)
def test_sms_cost_counts_segments_gsm7_and_ucs2(
    text: str, unicode: bool | None, segments: int
) -> None:
    assert sms_cost(text, unicode=unicode) == segments


@pytest.mark.parametrize(
    ("channel", "payload", "cost"),
    [
        ("wa", {"message": "hi"}, Cost(wa=1)),
        ("wa", {"message": "x" * 1501}, Cost(wa=2)),
        ("wa_media", {"media_url": "https://e.x/a.png", "caption": "x" * 5000}, Cost(wa=2)),
        ("wa_official", {"template_id": "t"}, Cost(wa=1)),
        ("wa_official_reply", {"room_id": "r", "text": "hi"}, Cost()),
        ("check", {"phone_numbers": ["6281234567890"]}, Cost()),
        ("sms", {"text": "a" * 161}, Cost(sms=2)),
        ("sms", {"text": "a" * 71, "unicode": True}, Cost(sms=2)),
    ],
)
def test_message_cost_follows_the_documented_pricing(
    channel: str, payload: dict[str, object], cost: Cost
) -> None:
    assert message_cost(channel, payload) == cost


def test_message_cost_refuses_an_unknown_channel_or_a_missing_text() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        message_cost("fax", {})
    with pytest.raises(ValueError, match="message"):
        message_cost("wa", {"text": "wrong field"})


def test_messages_cost_sums_records_and_pairs() -> None:
    record = MessageRecord(channel="sms", destination="62812", payload={"text": "a" * 200})
    total = messages_cost(
        [record, ("wa", {"message": "hi"}), ("wa_media", {}), ("sms", {"text": "ok"})]
    )
    assert total == Cost(wa=3, sms=3)


def test_preflight_reports_the_shortfall_per_wallet() -> None:
    check = preflight(Cost(wa=10, sms=5), wa_balance=4, sms_balance=100)
    assert (check.ok, check.wa_shortfall, check.sms_shortfall) == (False, 6, 0)
    assert preflight(Cost(wa=10), wa_balance=10, sms_balance=None).ok
    unknown = preflight(Cost(sms=3), wa_balance=0, sms_balance=None)
    assert (unknown.ok, unknown.sms_shortfall) == (False, 3)


def test_min_cost_knows_every_channel_a_breaker_has() -> None:
    from nusaworker.credit.breakers import CHANNELS

    assert set(MIN_COST) == set(CHANNELS)
    assert MIN_COST["wa_media"] == 2 and MIN_COST["check"] == 0
