"""The media rules of ``POST whatsapp/media``, as the sandbox enforces them.

Allowed types jpg, jpeg, png, pdf, webm, mp4; at most 512,000 bytes for images and PDF and
1,000,000 for video ("512.0 Kilobytes" / "1 Megabytes", read strictly: decimal units, the
smaller reading); ``media_base64`` wins over ``media_url``; ``file_name`` is optional. The type
comes from ``file_name``'s extension, else from the inline content's signature, else from the
URL path's extension; inline content whose type cannot be told is refused, a URL without an
extension is accepted. Whitespace inside ``media_base64`` is ignored.

The product checks the same rules before it sends (``nusaworker.providers.nusasms.media``); the
sandbox keeps its own copy because it imports nothing of the product, and
``tests/unit/test_media_agree.py`` holds both copies to one table of cases.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote, urlsplit

__all__ = [
    "MEDIA_SIZE_LIMITS",
    "decode_base64",
    "extension",
    "media_type",
    "normalize_base64",
    "refused_field",
    "sniff",
]

KB = 1000
MB = 1000 * KB
# Per file type, in bytes (strict reading: see the module docstring).
MEDIA_SIZE_LIMITS: dict[str, int] = {
    "jpg": 512 * KB,
    "jpeg": 512 * KB,
    "png": 512 * KB,
    "pdf": 512 * KB,
    "mp4": 1 * MB,
    "webm": 1 * MB,
}

_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")


def normalize_base64(data: str) -> str:
    """``data`` without whitespace (the line breaks some encoders put every 76 characters)."""
    return _WHITESPACE.sub("", data)


def decode_base64(data: str) -> bytes:
    """The bytes of ``data`` (whitespace ignored); :class:`ValueError` when it is not base64."""
    try:
        return base64.b64decode(normalize_base64(data), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None


def extension(name: str) -> str | None:
    """The lower-cased extension of the last segment of ``name``, or ``None``."""
    tail = name.rsplit("/", 1)[-1]
    if "." not in tail:
        return None
    return tail.rsplit(".", 1)[-1].lower() or None


def sniff(content: bytes) -> str | None:
    """The allowed type whose signature ``content`` starts with, or ``None``."""
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if content[4:8] == b"ftyp":
        return "mp4"
    return None


def media_type(
    *, media_url: str | None, content: bytes | None, file_name: str | None
) -> tuple[str | None, str]:
    """``(type, source)`` of a media send; ``content`` is the decoded ``media_base64`` or None.

    ``source`` names the field the type was read from (``file_name``, ``media_base64``,
    ``media_url``) and is where a refusal points. Raises :class:`ValueError` for a type outside
    :data:`MEDIA_SIZE_LIMITS` and for inline content whose type cannot be told; returns
    ``(None, "media_url")`` for a URL whose type only its download can tell.
    """
    kind, source = None, "media_base64" if content is not None else "media_url"
    if file_name and extension(file_name):
        kind, source = extension(file_name), "file_name"
    elif content is not None:
        kind = sniff(content)
        if kind is None:
            raise ValueError(
                "cannot tell the file type: give file_name with its extension "
                f"({', '.join(MEDIA_SIZE_LIMITS)})"
            )
    elif media_url:
        kind = extension(unquote(urlsplit(media_url).path))
    if kind is not None and kind not in MEDIA_SIZE_LIMITS:
        allowed = ", ".join(MEDIA_SIZE_LIMITS)
        raise ValueError(f"file type {kind!r} is not allowed (allowed: {allowed})")
    return kind, source


def refused_field(file_name: str | None, content: bytes | None) -> str:
    """The field a refusal of :func:`media_type` points at: the one the type was read from."""
    if file_name and extension(file_name):
        return "file_name"
    return "media_base64" if content is not None else "media_url"


def describe_limit(kind: str) -> str:
    """``"512 KB"`` / ``"1 MB"``: the limit of ``kind`` in the documents' words."""
    limit = MEDIA_SIZE_LIMITS[kind]
    return f"{limit // MB} MB" if limit % MB == 0 else f"{limit // KB} KB"
