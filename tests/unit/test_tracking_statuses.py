"""Provider status codes → ledger states, for polls and pushes alike (pure)."""

from __future__ import annotations

import pytest

from nusaworker.ledger import MessageState
from nusaworker.tracking.statuses import family, read_status

S = MessageState


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("U", S.SENT),
        ("UNSEND", S.SENT),  # WAChat spells it so
        ("Q", S.SENT),
        ("S", S.SENT),
        ("D", S.DELIVERED),
        ("R", S.READ),
        ("A", S.ABORTED),
        ("F", S.FAILED),
        ("read", S.READ),
        ("delivered", S.DELIVERED),
        ("UN-SENT", S.SENT),
        (" D ", S.DELIVERED),
    ],
)
def test_read_status_whatsapp_codes_map_to_ledger_states(code: str, state: MessageState) -> None:
    reading = read_status("wa", code)

    assert reading.state is state
    assert reading.known
    assert reading.provider_status == code.strip()


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("QUEUED", S.SENT),
        ("SENT", S.SENT),
        ("DELIVERED", S.DELIVERED),
        ("DELIVRD", S.DELIVERED),
        ("FAILED", S.FAILED),
        ("REJECTED", S.FAILED),
        ("UNDELIV", S.FAILED),
        ("expired", S.FAILED),
    ],
)
def test_read_status_sms_dr_values_map_to_ledger_states(code: str, state: MessageState) -> None:
    assert read_status("sms", code).state is state


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("queued", S.SENT),
        ("sent", S.SENT),
        ("delivered", S.DELIVERED),
        ("read", S.READ),
        ("failed", S.FAILED),
    ],
)
def test_read_status_wa_official_words_map_to_ledger_states(code: str, state: MessageState) -> None:
    assert read_status("wa_official", code).state is state
    assert read_status("wa_official_reply", code).state is state


@pytest.mark.parametrize(
    ("channel", "code"), [("wa", "X"), ("wa", "PENDING"), ("sms", "WHAT"), ("wa_official", "seen")]
)
def test_read_status_unknown_codes_are_kept_verbatim_and_move_nothing(
    channel: str, code: str
) -> None:
    reading = read_status(channel, code)

    assert reading.state is None
    assert not reading.known
    assert not reading.is_final
    assert reading.provider_status == code


def test_read_status_final_states_are_the_ones_that_end_polling() -> None:
    assert read_status("wa", "D").is_final
    assert read_status("wa", "A").is_final
    assert not read_status("wa", "S").is_final
    assert not read_status("sms", "QUEUED").is_final


def test_read_status_failure_carries_the_code_and_err_code_as_error() -> None:
    reading = read_status("wa", "F", err_code="17")

    assert reading.error is not None
    assert "F" in reading.error
    assert "17" in reading.error
    assert read_status("wa", "F", err_code="0").error == "provider status F"
    assert read_status("wa", "D", err_code="17").error is None


def test_family_groups_ledger_channels_by_status_vocabulary() -> None:
    assert family("wa_media") == "wa"
    assert family("wa_official_reply") == "wa_official"
    assert family("sms") == "sms"
