"""Credentials in a query string, kept out of every log line, exception and repr.

Two providers want their login in the URL: NusaSMS's SMS ``command`` API (CREDITS, DR:
``GET /api/command?user=…&password=…``, seeds 000/001) and the carrier HTTP API
(``POST /api/message?_login=…&_password=…``, seed 003). A URL is what libraries print: urllib3
logs every request line at DEBUG, and a ``requests`` exception quotes the URL it failed on
("Max retries exceeded with url: …") and keeps the prepared request. The guards, shared by
every client:

* :func:`redact_query` masks the value of every credential-like query parameter (``user``,
  ``password``, ``token``, ``_login``, ``_password`` …, raw or percent-encoded) with ``***``;
* :func:`install_log_redaction` puts one filter on urllib3's URL-writing loggers that redacts
  their records before any handler sees them (once per process; later calls do nothing);
* :func:`without_cause` cuts an error from its chain, and :func:`scrub` redacts an error in
  place and replaces its cause with a bare copy holding only the redacted text.

Our own transport logs paths only, and the sandbox's hit log stores paths without queries.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from .errors import ProviderError

__all__ = [
    "REDACTED",
    "URL_LOGGERS",
    "install_log_redaction",
    "redact_query",
    "scrub",
    "without_cause",
]

REDACTED = "***"
# Query parameters whose values are credentials, in any provider's spelling, after "?"/"&".
_CREDENTIAL = re.compile(
    r"(?i)([?&](?:user|username|login|password|passwd|pass|pwd|token|apikey|api_key|key|secret)=)"
    r"[^&#\s'\"]*"
)
# The carrier API's "_login=" / "_password=" anywhere, also percent-encoded ("%5Flogin%3D").
_UNDERSCORED = re.compile(r"(?i)((?:_|%5f)(?:login|password)(?:=|%3d))[^&\s'\"<>)\]},;]*")
# urllib3's loggers that write URLs: request lines, retries, redirects.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def redact_query(text: str) -> str:
    """``text`` with the value of every credential-like query parameter replaced by ``***``."""
    text = _CREDENTIAL.sub(lambda m: m.group(1) + REDACTED, text)
    return _UNDERSCORED.sub(lambda m: m.group(1) + REDACTED, text)


class _QueryRedactingFilter(logging.Filter):
    """Redacts credentials in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True


def _clean(value: object) -> object:
    if isinstance(value, str):
        return redact_query(value)
    # urllib3 passes some values (an exception, a Retry) as objects it formats with %r/%s.
    if isinstance(value, BaseException | bytes) or type(value).__module__.startswith("urllib3"):
        return redact_query(repr(value) if isinstance(value, BaseException) else str(value))
    return value


_FILTER = _QueryRedactingFilter()
_installing = threading.Lock()


def install_log_redaction() -> None:
    """Put the redacting filter on urllib3's URL-writing loggers (once per process)."""
    with _installing:
        for name in URL_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


def without_cause(error: ProviderError) -> ProviderError:
    """``error`` cut from its chain: the ``requests`` exception below it quotes the URL."""
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error


def scrub(exc: ProviderError, redact: Callable[[str], str]) -> ProviderError:
    """Redact ``exc`` in place: its detail, and its cause, which is replaced by a bare copy.

    The copy keeps the cause's class and its redacted message, so a traceback still says what
    failed (``ConnectionError: … url: /api/message?_login=***&_password=*** …``), but not the
    request object, the URL or anything chained below it. ``redact`` masks what the caller
    knows besides (its own credential values).
    """
    exc.detail = redact(redact_query(exc.detail))
    exc.args = (exc.detail,)
    cause = exc.__cause__
    if cause is not None:
        text = redact(redact_query(str(cause)))
        try:
            clean: BaseException = type(cause)(text)
        except Exception:  # a class with an unusual constructor: keep only the text
            clean = RuntimeError(f"{type(cause).__name__}: {text}")
        exc.__cause__ = clean
    exc.__context__ = None
    exc.__suppress_context__ = True
    return exc
