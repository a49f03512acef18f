"""SMS segment counting (GSM 03.38 7-bit default alphabet vs UCS-2), as the SMS v3 API bills.

GSM-7: 160 septets in one segment, 153 per part of a concatenated message; the extension
characters ``^{}\\[~]|€`` (and form feed) take two septets. Text with any character outside the
alphabet is sent as UCS-2: 70 code units alone, 67 per part (characters outside the BMP, e.g.
emoji, take two UTF-16 units). A character is never split across parts (an escape pair or a
surrogate pair moves whole to the next part), so ``"a"*152 + "€" + "a"*152`` is three parts,
not ``ceil(306 / 153) = 2``.

The product counts with the same rules (``nusaworker.providers.nusasms.segments``); the sandbox
keeps its own copy because it imports nothing of the product, and one table of cases in
``tests/unit/test_segments_agree.py`` holds both to the same answers.
"""

from __future__ import annotations

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

MAX_SEGMENTS = 10


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 alphabet (basic or extension)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def gsm7_length(text: str) -> int:
    """Septets ``text`` takes in GSM-7 (extension characters count twice)."""
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def ucs2_length(text: str) -> int:
    """UTF-16 code units ``text`` takes in UCS-2/UTF-16."""
    return len(text.encode("utf-16-le")) // 2


def _sizes(text: str, encoding: str) -> list[int]:
    if encoding == "gsm7":
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _parts(sizes: list[int], capacity: int) -> int:
    """Parts of ``capacity`` units that hold ``sizes`` in order, no character split."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            parts, used = parts + 1, 0
        used += size
    return parts


def count_segments(text: str, *, unicode: bool = False) -> tuple[int, str]:
    """Return ``(segments, encoding)`` for ``text``; encoding is ``"gsm7"`` or ``"ucs2"``.

    ``unicode=True`` forces UCS-2 (the ``unicode`` request parameter); text that is not GSM-7
    is UCS-2 whatever the parameter says. Empty text counts as one segment.
    """
    if unicode or not is_gsm7(text):
        single, part, encoding = 70, 67, "ucs2"
    else:
        single, part, encoding = 160, 153, "gsm7"
    sizes = _sizes(text, encoding)
    if sum(sizes) <= single:
        return 1, encoding
    return _parts(sizes, part), encoding
