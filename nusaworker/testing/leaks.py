"""Look for secrets where they must never be: logs, Redis, task payloads, outputs, errors.

A secret can hide in encoded forms, so each text is searched for every form of every secret
(:func:`forms`: as it is, percent-encoded as in a URL or a form body, base64 and base64url as
in a Basic header) and also after decoding (:func:`expanded`): every base64 run long enough to
hold one is decoded and searched too — kombu keeps a task's body base64-encoded inside its
JSON envelope, where a secret's own base64 form would sit at any offset.

:func:`redis_dump` reads every key of a Redis by type, :func:`scan` counts what it found.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import redis

# A base64 or base64url run that may hold a secret of 8+ bytes once decoded.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")


def forms(secret: str) -> dict[str, str]:
    """``secret`` as it may be written: raw, percent-encoded (URL, form), base64(url)."""
    raw = secret.encode()
    found = {
        "raw": secret,
        "url": quote(secret, safe=""),
        "form": quote_plus(secret),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    # One entry per distinct text: a secret with nothing to encode is one form, not three.
    unique: dict[str, str] = {}
    for name, value in found.items():
        if value and value not in unique.values():
            unique[name] = value
    return unique


def expanded(text: str) -> str:
    """``text`` followed by the decoding of every base64 run in it (nested once more)."""
    parts = [text]
    for _ in range(2):  # a base64 body inside a base64 envelope
        decoded = list(_decoded_runs(parts[-1]))
        if not decoded:
            break
        parts.append("\n".join(decoded))
    return "\n".join(parts)


def _decoded_runs(text: str) -> Iterator[str]:
    for match in _BASE64_RUN.finditer(text):
        run = match.group(0).rstrip("=")
        for altchars in (b"+/", b"-_"):
            try:
                raw = base64.b64decode(run + "=" * (-len(run) % 4), altchars=altchars)
            except (binascii.Error, ValueError):
                continue
            yield raw.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Leak:
    """One secret found: which, in which form, on which surface, where, and around it."""

    surface: str
    where: str
    secret: str
    form: str
    excerpt: str


@dataclass
class Scan:
    """What was searched and what was found, surface by surface."""

    secrets: Mapping[str, str]
    leaks: list[Leak] = field(default_factory=list)
    bytes: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    def add(self, surface: str, where: str, text: str) -> list[Leak]:
        """Search one text of ``surface``; the leaks found in it."""
        self.bytes[surface] = self.bytes.get(surface, 0) + len(text.encode())
        self.lines[surface] = self.lines.get(surface, 0) + text.count("\n") + 1
        self.items[surface] = self.items.get(surface, 0) + 1
        found = list(_leaks(surface, where, expanded(text), self.secrets))
        self.leaks.extend(found)
        return found

    def of(self, surface: str) -> list[Leak]:
        return [leak for leak in self.leaks if leak.surface == surface]


def _leaks(surface: str, where: str, text: str, secrets: Mapping[str, str]) -> Iterator[Leak]:
    for name, secret in secrets.items():
        for form, value in forms(secret).items():
            start = text.find(value)
            while start >= 0:
                excerpt = text[max(0, start - 80) : start + len(value) + 40]
                yield Leak(surface, where, name, form, excerpt.replace("\n", "⏎"))
                start = text.find(value, start + 1)


def redis_dump(client: redis.Redis, match: str = "*") -> Iterator[tuple[str, str]]:
    """Every key matching ``match`` and its value, read by type: ``(key, text)`` pairs."""
    for raw_key in client.scan_iter(match=match, count=1000):
        key = _text(raw_key)
        kind = _text(client.type(raw_key))
        value: Iterable[object]
        if kind == "string":
            value = [client.get(raw_key)]
        elif kind == "hash":
            value = [item for pair in client.hgetall(raw_key).items() for item in pair]
        elif kind == "list":
            value = client.lrange(raw_key, 0, -1)
        elif kind == "set":
            value = client.smembers(raw_key)
        elif kind == "zset":
            value = client.zrange(raw_key, 0, -1)
        elif kind == "stream":
            entries: Any = client.xrange(raw_key)
            value = [item for _, fields in entries for pair in fields.items() for item in pair]
        else:
            value = [f"<{kind}>"]
        yield key, key + "\n" + "\n".join(_text(v) for v in value if v is not None)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
