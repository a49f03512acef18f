"""SMS segment counting: GSM-7 with the extension table, UCS-2 with surrogate pairs."""

from __future__ import annotations

import pytest

from nusaworker.providers.nusasms.segments import count_segments, needs_unicode


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€" * 80, "gsm7", 160, 1),
        ("€" * 81, "gsm7", 162, 2),
        ("a" * 159 + "^", "gsm7", 161, 2),
        ("Ω" * 70, "gsm7", 70, 1),
        ("я" * 70, "ucs2", 70, 1),
        ("я" * 71, "ucs2", 71, 2),
        ("я" * 134, "ucs2", 134, 2),
        ("я" * 135, "ucs2", 135, 3),
        ("😀" * 35, "ucs2", 70, 1),
        ("😀" * 36, "ucs2", 72, 2),
        ("", "gsm7", 0, 1),
    ],
)
def test_count_segments_boundaries(text: str, encoding: str, units: int, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_count_segments_never_splits_an_escape_pair() -> None:
    # 152 plain septets then "{" (2 septets): 154 > 153 so "{" moves to part two.
    text = "a" * 152 + "{" + "a" * 152
    info = count_segments(text)
    assert info.units == 306
    assert info.segments == 3  # a naive ceil(306 / 153) would say 2


def test_count_segments_never_splits_a_surrogate_pair() -> None:
    text = "я" * 66 + "😀" + "я" * 66
    info = count_segments(text)
    assert info.units == 134
    assert info.segments == 3  # naive ceil(134 / 67) = 2


def test_count_segments_forced_unicode_uses_ucs2() -> None:
    info = count_segments("hello", unicode=True)
    assert (info.encoding, info.segments, info.per_segment) == ("ucs2", 1, 70)


def test_count_segments_refuses_gsm7_for_unicode_text() -> None:
    with pytest.raises(ValueError, match="unicode"):
        count_segments("emoji 😀", unicode=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello @ £ $ ¥ è é ù ì ò Ç Ø ø Å å Δ _ Φ Γ Λ Ω Π Ψ Σ Θ Ξ Æ æ ß É ¡ ¿ § à", False),
        ("brackets [ ] { } ~ | \\ ^ €", False),
        ("Kode OTP anda 123456", False),
        ("naïve", True),
        ("Ç ç", True),
        ("😀", True),
        ("日本", True),
        ("`backtick`", True),
    ],
)
def test_needs_unicode(text: str, expected: bool) -> None:
    assert needs_unicode(text) is expected
