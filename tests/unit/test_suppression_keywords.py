"""Opt-out keyword matching and number normalisation: pure functions, no Redis."""

from __future__ import annotations

import pytest

from nusaworker.errors import ConfigurationError
from nusaworker.settings import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, Settings
from nusaworker.suppression import InvalidNumber, KeywordMatch, Keywords, keyword_form, normalise


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop ", "stop.", "STOP!!", "¡stop!", "\tStOp\n", "stop 🛑", "«STOP»"],
)
def test_keywords_match_the_whole_text_trimmed_any_case_punctuation_ignored(text: str) -> None:
    assert Keywords().match(text) == KeywordMatch("add", "STOP")


@pytest.mark.parametrize(
    "text",
    [
        "don't stop me now",
        "please stop",
        "stop it",
        "stopp",
        "s t o p",
        "",
        "   ",
        "...",
        "STOP\nand another line",
        "Berhenti dulu",
    ],
)
def test_keywords_ignore_texts_that_only_contain_a_keyword(text: str) -> None:
    assert Keywords().match(text) is None


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP SMS", "STOP SMS"),
        ("stop   sms", "STOP SMS"),
        ("stop-sms", "STOP SMS"),
        ("Opt-Out", "OPT OUT"),
        ("optout", "OPTOUT"),
        ("berhenti", "BERHENTI"),
        ("Unsubscribe.", "UNSUBSCRIBE"),
        ("UNREG", "UNREG"),
    ],
)
def test_keywords_defaults_cover_multiword_and_indonesian_forms(text: str, keyword: str) -> None:
    assert Keywords().match(text) == KeywordMatch("add", keyword)


@pytest.mark.parametrize("text", ["START", "start!", " Unstop "])
def test_keywords_opt_in_words_ask_for_removal(text: str) -> None:
    match = Keywords().match(text)
    assert match is not None and match.action == "remove"


def test_keywords_yes_is_not_an_opt_in_by_default() -> None:
    assert Keywords().match("YES") is None


def test_keywords_defaults_are_the_settings_defaults() -> None:
    settings = Settings()
    assert tuple(settings.opt_out_keywords) == OPT_OUT_KEYWORDS
    assert tuple(settings.opt_in_keywords) == OPT_IN_KEYWORDS
    assert repr(Keywords.from_settings(settings)) == repr(Keywords())


def test_keywords_settings_read_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUSAWORKER_OPT_OUT_KEYWORDS", "stop, keluar ,  ,STOP SMS")
    monkeypatch.setenv("NUSAWORKER_OPT_IN_KEYWORDS", "mulai")
    keywords = Keywords.from_settings(Settings())

    assert keywords.match("Keluar!") == KeywordMatch("add", "KELUAR")
    assert keywords.match("quit") is None  # the list replaces the defaults
    assert keywords.match("MULAI") == KeywordMatch("remove", "MULAI")
    assert keywords.match("start") is None


def test_keywords_refuse_a_word_that_is_both_opt_out_and_opt_in() -> None:
    with pytest.raises(ConfigurationError, match="both"):
        Keywords(["STOP", "END"], ["start", "end."])


def test_keywords_refuse_a_word_that_is_only_punctuation() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        Keywords(["STOP", "!!"], [])


def test_keyword_form_folds_case_and_spacing() -> None:
    assert keyword_form("  Opt--OUT!  ") == "opt out"
    # Full-width letters, as some phones send them.
    assert keyword_form("\uff33\uff34\uff2f\uff30") == "stop"


@pytest.mark.parametrize(
    ("given", "number"),
    [
        ("6281234567890", "6281234567890"),
        ("+6281234567890", "6281234567890"),
        ("+62 812-3456-7890", "6281234567890"),
        (" 62 812 3456 7890 ", "6281234567890"),
        # A national form is read in the region, as the producer reads a destination: the
        # number the fleet sends to is the one that is suppressed.
        ("081234567890", "6281234567890"),
        ("0812 3456 7890", "6281234567890"),
    ],
)
def test_suppression_normalise_keeps_digits_only(given: str, number: str) -> None:
    assert normalise(given) == number


def test_suppression_normalise_reads_a_national_number_in_the_given_region() -> None:
    assert normalise("020 7946 0958", region="GB") == "442079460958"
    # Not a valid Indonesian number: refused, never kept in a form no message is sent to.
    with pytest.raises(InvalidNumber, match="region ID"):
        normalise("01234567890")


@pytest.mark.parametrize(
    "given", ["62812abc", "62(812)3456", "62.812.3456", "++62812345", "1234", "1" * 21, "", "+"]
)
def test_suppression_normalise_refuses_what_is_not_a_number(given: str) -> None:
    with pytest.raises(InvalidNumber, match="not a phone number"):
        normalise(given)


def test_suppression_invalid_number_is_a_value_error_and_not_retryable() -> None:
    assert issubclass(InvalidNumber, ValueError)
    assert InvalidNumber.retryable is False
