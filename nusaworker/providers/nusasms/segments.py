"""How many SMS segments a text costs, and whether it needs the unicode (UCS-2) encoding.

GSM 03.38 7-bit: 160 septets in one SMS, 153 per part of a concatenated one; characters of the
extension table (``^ { } \\ [ ~ ] | €`` and form feed) take two septets (escape + char), and an
escape pair is never split across parts. UCS-2: 70 UTF-16 code units alone, 67 per part; a
character outside the Basic Multilingual Plane (most emoji) is a surrogate pair, two units, and
is never split either. Pure functions, no I/O.

The documents say only "Text message (160 characters)": the concatenation rules are GSM 03.38's,
an assumption (docs/providers/nusasms.md). The cost estimate (:mod:`.pricing`) counts with this
module, and the sandbox's own copy is held to the same table of cases
(``tests/unit/test_segments_agree.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["GSM7_BASIC", "GSM7_EXTENSION", "SegmentInfo", "count_segments", "needs_unicode"]

# GSM 03.38 default alphabet (the escape code 0x1B itself is left out: it is not a character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached through the escape code: each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

Encoding = Literal["gsm7", "ucs2"]


@dataclass(frozen=True)
class SegmentInfo:
    """The cost of one text as SMS.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2; ``segments`` is the number
    of SMS parts billed; ``per_segment`` the capacity of one part at that count.
    """

    encoding: Encoding
    units: int
    segments: int
    per_segment: int


def needs_unicode(text: str) -> bool:
    """Whether ``text`` holds a character GSM-7 (basic + extension table) cannot carry."""
    return any(ch not in GSM7_BASIC and ch not in GSM7_EXTENSION for ch in text)


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    """The size of each character in units; a character is never split across parts."""
    if encoding == "gsm7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(sizes: list[int], capacity: int) -> int:
    """Parts needed to hold ``sizes`` in order, ``capacity`` units each, splitting no character."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            parts += 1
            used = 0
        used += size
    return parts


def count_segments(text: str, *, unicode: bool | None = None) -> SegmentInfo:
    """Count the SMS segments of ``text``.

    ``unicode=None`` picks UCS-2 only when the text needs it; ``True`` forces UCS-2 (what the
    provider does when the ``unicode`` flag is set). ``False`` on a text that needs unicode
    raises :class:`ValueError`. An empty text is one (empty) segment.
    """
    required = needs_unicode(text)
    if unicode is False and required:
        raise ValueError("text holds characters outside GSM-7; it must be sent as unicode")
    encoding: Encoding = "ucs2" if (unicode or required) else "gsm7"
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "gsm7" else (UCS2_SINGLE, UCS2_MULTI)
    if units <= single:
        return SegmentInfo(encoding=encoding, units=units, segments=1, per_segment=single)
    return SegmentInfo(
        encoding=encoding, units=units, segments=_pack(sizes, multi), per_segment=multi
    )
