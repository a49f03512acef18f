"""Log lines for operators: JSON when asked, and never a secret, whoever wrote the line.

``NUSAWORKER_LOG_FORMAT=json`` makes every line one JSON object (python-json-logger: a
``logging.Formatter``, so Celery's own handlers, third-party libraries' records and ours all
go through it unchanged; structlog would have meant routing stdlib logging through its
processor chain for the same result). A record's ``extra`` fields become keys: the ledger's
line per state change (:mod:`nusaworker.ledger.journal`) carries ``message_id``, ``state``,
``previous``, ``account``, ``ref_no`` and ``reason``. ``text`` (the default) keeps the usual
one-line format.

Secrets are masked by construction, in the formatter: whatever a handler is about to write —
our lines, Celery's banner and errors, redis-py's and urllib3's messages, tracebacks — is
scanned once formatted, and every configured secret value (each ``SecretStr`` of the settings,
each account's credentials, the Redis URL's password) becomes ``***``, as does the password
of any URL (``redis://:pw@host`` → ``redis://:***@host``). Values shorter than
:data:`MIN_SECRET_LENGTH` are left to the URL rule only: masking them in free text would mask
ordinary words.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from nusaworker.settings import Settings

__all__ = [
    "MASK",
    "RedactingFormatter",
    "early",
    "formatter_for",
    "install",
    "redact",
    "secret_values",
    "setup",
]

MASK = "***"
MIN_SECRET_LENGTH = 6
LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s %(message)s"
# The URL rule: userinfo with a password (``scheme://user:password@``); the user is kept.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")


def secret_values(settings: Settings) -> list[str]:
    """Every secret value the settings hold, longest first (a secret inside another is masked
    as part of the longer one)."""
    found: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str) and value:
            found.add(value)

    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            add(value)
        elif name == "accounts":
            for account in value:
                for credential in account.credentials.values():
                    add(credential)
    redis_url = settings.redis_url
    raw = redis_url.get_secret_value() if isinstance(redis_url, SecretStr) else redis_url
    add(urlsplit(raw).password or "")
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL password and every one of ``secrets`` (as written, and as JSON
    writes it inside a string) replaced by :data:`MASK`."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    for secret in secrets:
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        text = text.replace(secret, MASK)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner``, then masks (:func:`redact`): nothing a handler writes escapes."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record), self.secrets)


def _json() -> logging.Formatter:
    return JsonFormatter(
        ["levelname", "name", "processName", "message"],
        rename_fields={"levelname": "level", "name": "logger", "processName": "process"},
        timestamp=True,
    )


def formatter_for(
    log_format: LogFormat, secrets: Iterable[str], text: logging.Formatter | None = None
) -> RedactingFormatter:
    """The formatter of ``log_format`` behind the secret mask; ``text``: the text formatter
    to keep (Celery's own), else :data:`TEXT_FORMAT`."""
    inner = _json() if log_format == "json" else text or logging.Formatter(TEXT_FORMAT)
    return RedactingFormatter(inner, secrets)


def install(settings: Settings, logger: logging.Logger | None = None) -> None:
    """Put the settings' format and the secret mask on every handler of ``logger`` (default:
    the root logger), keeping each handler's own text format; a handler already masked gets
    the settings' format anew."""
    target = logger if logger is not None else logging.getLogger()
    # Python's warnings (Celery's SecurityWarning, a DeprecationWarning of a library) go to
    # stderr by themselves, past every handler: through logging they are lines like any other.
    logging.captureWarnings(True)
    secrets = secret_values(settings)
    for handler in target.handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            current = current.inner
        text = None if isinstance(current, JsonFormatter) else current
        handler.setFormatter(formatter_for(settings.log_format, secrets, text))


def early(settings: Settings) -> None:
    """From process start: what is logged (or warned) before Celery sets its logging up — its
    warning about running as root, an import's DeprecationWarning — is written in the settings'
    format too, by a stderr handler on the root logger (Celery replaces it with its own)."""
    root = logging.getLogger()
    if settings.log_format == "json" and not root.handlers:
        root.addHandler(logging.StreamHandler())
        install(settings, root)


def setup(settings: Settings, level: int = logging.INFO) -> None:
    """Logging of a command that owns its process (the receiver): one stderr handler."""
    logging.basicConfig(level=level)
    install(settings)
