"""The dead letters' pure parts: which may be sent again, --since, masking, the listing."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from nusaworker.ledger.dead import DeadLetter, requeue_refusal
from nusaworker.tracking.deadletters import mask, parse_since, render

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()

REJECTED = DeadLetter(
    entry="1764763200000-0",
    at=NOW,
    message_id="m1",
    state="rejected",
    previous="sending",
    channel="wa",
    destination="6281234567890",
    priority="normal",
    error="PermanentError: HTTP 422 invalid parameter value or format: destination",
    account="nusasms",
    state_now="rejected",
    has_payload=True,
)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"state": "failed", "state_now": "failed"}, None),
        ({"state": "unknown", "state_now": "unknown"}, "its hit may have reached the provider"),
        ({"state": "failed", "state_now": "unknown"}, "it is unknown now"),
        ({"state_now": None}, "its record is gone"),
        ({"account_pinned": True}, "an earlier hit of it may have reached the provider"),
        ({"requeued_as": "m2"}, "requeued already, as m2"),
        ({"has_payload": False}, "its payload is no longer kept"),
        ({"state": "expired"}, "it ended expired"),
    ],
)
def test_requeue_refusal_only_what_never_reached_a_provider(
    changes: dict[str, object], refusal: str | None
) -> None:
    found = requeue_refusal(replace(REJECTED, **changes))  # type: ignore[arg-type]
    if refusal is None:
        assert found is None
    else:
        assert found is not None and refusal in found


def test_requeue_refusal_without_a_letter() -> None:
    assert requeue_refusal(None) == "no dead letter for it"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - 90),
        ("30m", NOW - 1800),
        ("2h", NOW - 7200),
        ("7D", NOW - 7 * 86400),
        ("1.5h", NOW - 5400),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC).timestamp()),
        ("2026-12-01T10:30", datetime(2026, 12, 1, 10, 30, tzinfo=UTC).timestamp()),
        ("2026-12-01T10:30+07:00", datetime(2026, 12, 1, 3, 30, tzinfo=UTC).timestamp()),
    ],
)
def test_parse_since_reads_an_age_or_a_date(text: str, expected: float) -> None:
    assert parse_since(text, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "-5m", "", "12/01/2026"])
def test_parse_since_refuses_anything_else_saying_what_it_takes(text: str) -> None:
    with pytest.raises(ValueError, match="an age"):
        parse_since(text, NOW)


@pytest.mark.parametrize(
    ("destination", "shown"),
    [
        ("6281234567890", "628*******890"),
        ("+6281234567890", "+628*******890"),
        ("Example", "Ex****e"),
        ("123456", "12***6"),
        ("1", "*"),
        (None, "-"),
        ("", "-"),
    ],
)
def test_mask_keeps_the_ends_of_a_destination(destination: str | None, shown: str) -> None:
    assert mask(destination) == shown


def test_render_table_newest_first_masked_and_short() -> None:
    later = replace(
        REJECTED,
        message_id="m2",
        at=NOW + 60,
        state="unknown",
        state_now="sent",
        error="AmbiguousOutcome: " + "x" * 200,
    )
    out = io.StringIO()
    render([later, REJECTED], out, as_json=False, total=7)
    lines = out.getvalue().splitlines()
    assert lines[0] == "2 dead letter(s) shown, newest first (7 kept)"
    assert lines[1].split() == ["ENDED", "(UTC)", "ID", "CHANNEL", "DESTINATION", "STATE", "REASON"]
    assert lines[2].startswith("2026-12-03 12:01:00  m2") and "unknown (now sent)" in lines[2]
    assert lines[2].endswith("…") and len(lines[2]) < 200
    assert "628*******890" in lines[3] and "6281234567890" not in out.getvalue()


def test_render_json_keeps_the_fields_and_masks_the_destination() -> None:
    out = io.StringIO()
    render([replace(REJECTED, requeued_as="m9")], out, as_json=True, total=1)
    [row] = json.loads(out.getvalue())
    assert row["id"] == "m1" and row["state"] == "rejected" and row["requeued_as"] == "m9"
    assert row["destination"] == "628*******890"
    assert row["at_iso"] == "2026-12-03T12:00:00+00:00"
    assert row["error"] == REJECTED.error
