"""Credentials in a query string, kept out of every log line, exception and repr.

The SMS ``command`` API (CREDITS, DR) is documented as ``GET /api/command?user=…&password=…``:
the login must ride in the URL. A URL is what libraries print: urllib3 logs every request line
at DEBUG, and a ``requests`` exception quotes the URL it failed on ("Max retries exceeded with
url: /api/command?user=…&password=…"). Two guards, both here:

* :func:`install_log_redaction` puts a filter on urllib3's request logger that masks the value
  of every credential-like query parameter (``user``, ``password``, ``token`` …) before the
  line is formatted, for every client in the process (installed once, idempotent);
* :func:`without_cause` drops the chained ``requests`` exception from an error before it
  leaves the client (the taxonomy error's own text never holds the URL: see
  :func:`nusaworker.providers.classify.error_for_exception`).

Our own transport logs the path only, and the sandbox's hit log stores paths without queries.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlencode

from ..errors import ProviderError

__all__ = [
    "REDACTED",
    "install_log_redaction",
    "path_with_query",
    "redact_query",
    "without_cause",
]

REDACTED = "***"
# Query parameters whose values are credentials, in any provider's spelling.
_CREDENTIAL = re.compile(
    r"(?i)([?&](?:user|username|login|password|passwd|pass|pwd|token|apikey|api_key|key|secret)=)"
    r"[^&#\s'\"]*"
)
# urllib3 loggers that print request URLs (request lines, retries, redirects).
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")
_installed = threading.Lock()
_done = False


def redact_query(text: str) -> str:
    """``text`` with the value of every credential-like query parameter replaced by ``***``."""
    return _CREDENTIAL.sub(lambda m: m.group(1) + REDACTED, text)


def path_with_query(path: str, params: dict[str, str]) -> str:
    """``path?params`` encoded as a form would be (``quote_plus``)."""
    return f"{path}?{urlencode(params)}"


class _RedactQueryFilter(logging.Filter):
    """Masks credentials in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact_query(value)
    if isinstance(value, BaseException):
        # ``%r`` of an exception quotes its URL: render it now, redacted.
        return redact_query(repr(value))
    return value


def install_log_redaction() -> None:
    """Filter urllib3's URL-printing loggers (once per process; later calls do nothing)."""
    global _done
    with _installed:
        if _done:
            return
        for name in _URL_LOGGERS:
            logging.getLogger(name).addFilter(_RedactQueryFilter())
        _done = True


def without_cause(error: ProviderError) -> ProviderError:
    """``error`` cut from its chain: the ``requests`` exception below it quotes the URL."""
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error
