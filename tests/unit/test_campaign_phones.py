"""Campaign destinations: every spelling of a number becomes E.164 digits, or a typed reason."""

from __future__ import annotations

import pytest

from nusaworker.campaigns import CampaignInputError, InvalidPhone, PhoneNormaliser, PhoneProblem
from nusaworker.settings import Settings

NORMALISE = PhoneNormaliser("ID")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", "6281234567890"),
        ("0812-3456-7890", "6281234567890"),
        ("+62 812-3456-7890", "6281234567890"),
        ("+6281234567890", "6281234567890"),
        ("6281234567890", "6281234567890"),
        ("62 812 3456 7890", "6281234567890"),
        ("(0812) 345-678", "62812345678"),
        ("0812.345.678", "62812345678"),
        (" 0812 345 678 ", "62812345678"),
        ("0812\u00a0345\u00a0678", "62812345678"),
        ("812345678", "62812345678"),
        ("021-555-1234", "62215551234"),
        ("+1 415 555 2671", "14155552671"),
        ("+39 06 1234 5678", "390612345678"),
        ("٠٨١٢٣٤٥٦٧٨٩", "628123456789"),
    ],
)
def test_phones_normalise_spellings_to_e164_digits(raw: str, expected: str) -> None:
    assert NORMALISE(raw) == expected


def test_phones_normalise_short_normalised_number_stays_itself() -> None:
    # phonenumbers alone reads "62812345678" as a national number (+62 62812345678, a
    # valid-looking landline); a number nusaworker wrote must survive a second pass.
    once = NORMALISE("(0812) 345-678")
    assert once == "62812345678"
    assert NORMALISE(once) == once


def test_phones_normalise_foreign_e164_digits_without_plus() -> None:
    assert NORMALISE("14155552671") == "14155552671"
    assert NORMALISE("442079460958") == "442079460958"


@pytest.mark.parametrize(
    ("raw", "problem", "reason"),
    [
        ("", PhoneProblem.EMPTY, "no destination"),
        ("  - ", PhoneProblem.EMPTY, "no destination"),
        ("hello", PhoneProblem.NOT_A_NUMBER, "not a phone number"),
        ("+", PhoneProblem.NOT_A_NUMBER, "not a phone number"),
        ("+62", PhoneProblem.NOT_A_NUMBER, "not a phone number"),
        ("12", PhoneProblem.TOO_SHORT, "too short to be a phone number"),
        ("0812", PhoneProblem.TOO_SHORT, "too short to be a phone number"),
        ("0812345678901234567890", PhoneProblem.TOO_LONG, "too long to be a phone number"),
        ("+999 1234567", PhoneProblem.UNKNOWN_COUNTRY_CODE, "unknown country code"),
        ("0999 1234 5678", PhoneProblem.INVALID, "not a valid number for region ID"),
        ("+62 999 1234567", PhoneProblem.INVALID, "not a valid number for region ID"),
        ("+44 99 7946 0958", PhoneProblem.INVALID, "not a valid number for region GB"),
    ],
)
def test_phones_normalise_invalid_gives_typed_reason(
    raw: str, problem: PhoneProblem, reason: str
) -> None:
    answer = NORMALISE(raw)
    assert isinstance(answer, InvalidPhone)
    assert answer.problem is problem
    assert str(answer) == reason


def test_phones_normalise_other_default_region() -> None:
    assert PhoneNormaliser("us")("(415) 555-2671") == "14155552671"
    assert PhoneNormaliser("US")("0812-3456-7890") != "6281234567890"


def test_phones_normalise_unknown_region_is_refused_at_the_edge() -> None:
    with pytest.raises(CampaignInputError, match="unknown region 'XX'"):
        PhoneNormaliser("XX")


def test_phones_normalise_caches_answers() -> None:
    normalise = PhoneNormaliser("ID", cache_size=4)
    for _ in range(3):
        assert normalise("0812-3456-7890") == "6281234567890"
    info = normalise._cached.cache_info()
    assert (info.hits, info.misses) == (2, 1)


def test_phones_settings_default_region_is_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUSAWORKER_DEFAULT_REGION", raising=False)
    assert Settings(_env_file=None).default_region == "ID"  # type: ignore[call-arg]
    monkeypatch.setenv("NUSAWORKER_DEFAULT_REGION", "MY")
    assert Settings(_env_file=None).default_region == "MY"  # type: ignore[call-arg]
