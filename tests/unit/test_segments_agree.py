"""One table of SMS segment counts, held against the client, the cost estimate and the sandbox.

The sandbox may not import the product, so it keeps its own copy of the counting rules; this
table is what keeps the three copies the same. A case that fails here means a message would be
priced, validated or billed differently by two of them.
"""

from __future__ import annotations

import pytest

from nusaworker.providers.nusasms.pricing import sms_cost
from nusaworker.providers.nusasms.segments import count_segments, needs_unicode
from nusaworker.sandbox.nusasms import segments as sandbox_segments

# (text, forced unicode, encoding, segments)
CASES = [
    ("", False, "gsm7", 1),
    ("a" * 160, False, "gsm7", 1),
    ("a" * 161, False, "gsm7", 2),
    ("a" * 306, False, "gsm7", 2),
    ("a" * 307, False, "gsm7", 3),
    ("€" * 80, False, "gsm7", 1),
    ("€" * 81, False, "gsm7", 2),
    ("a" * 159 + "^", False, "gsm7", 2),
    # An escape pair never straddles two parts: 152 + [2] does not fit 153, so it moves.
    ("a" * 152 + "€" + "a" * 152, False, "gsm7", 3),
    ("a" * 151 + "€" + "a" * 153, False, "gsm7", 2),
    ("a" * 152 + "{" + "a" * 152, False, "gsm7", 3),
    ("€" * 76 + "a" + "€" * 76, False, "gsm7", 2),
    ("a" * 153 * 3, False, "gsm7", 3),
    ("a" * (153 * 3 + 1), False, "gsm7", 4),
    ("Ω" * 70, False, "gsm7", 1),
    ("я" * 70, False, "ucs2", 1),
    ("я" * 71, False, "ucs2", 2),
    ("я" * 134, False, "ucs2", 2),
    ("я" * 135, False, "ucs2", 3),
    ("😀" * 35, False, "ucs2", 1),
    ("😀" * 36, False, "ucs2", 2),
    # A surrogate pair never straddles two parts either.
    ("я" * 66 + "😀" + "я" * 66, False, "ucs2", 3),
    ("я" * 65 + "😀" + "я" * 67, False, "ucs2", 2),
    ("hello", True, "ucs2", 1),
    ("a" * 71, True, "ucs2", 2),
    ("a" * 70, True, "ucs2", 1),
    ("naïve " * 12, False, "ucs2", 2),
]


@pytest.mark.parametrize(("text", "unicode", "encoding", "segments"), CASES)
def test_segments_client_count_matches_table(
    text: str, unicode: bool, encoding: str, segments: int
) -> None:
    info = count_segments(text, unicode=unicode or None)
    assert (info.encoding, info.segments) == (encoding, segments)


@pytest.mark.parametrize(("text", "unicode", "encoding", "segments"), CASES)
def test_segments_cost_estimate_matches_table(
    text: str, unicode: bool, encoding: str, segments: int
) -> None:
    assert sms_cost(text, unicode=unicode) == segments


@pytest.mark.parametrize(("text", "unicode", "encoding", "segments"), CASES)
def test_segments_sandbox_count_matches_table(
    text: str, unicode: bool, encoding: str, segments: int
) -> None:
    assert sandbox_segments.count_segments(text, unicode=unicode) == (segments, encoding)


@pytest.mark.parametrize("text", ["plain", "€[]{}", "naïve", "😀", "`", "\f", "Ç", "ç"])
def test_segments_alphabets_agree(text: str) -> None:
    assert needs_unicode(text) is not sandbox_segments.is_gsm7(text)
