"""Keep ``_login``/``_password`` out of logs, exceptions and stored URLs.

SmartSwitch takes its credentials in the query string (seed 003), and URLs travel far:
urllib3 logs the request line at DEBUG, ``requests`` exceptions quote the URL in their message
and keep the prepared request (``exc.request.url``). Three guards, each cheap:

* :func:`redact_query` replaces the value of every ``_login=``/``_password=`` parameter in a
  text (raw or percent-encoded, anywhere in it) with ``***``;
* :func:`install_log_filter` puts a filter on urllib3's loggers that redacts their records
  before any handler sees them (idempotent; it changes nothing but those parameter values);
* :func:`scrub` takes a :class:`~nusaworker.providers.errors.ProviderError` the transport
  raised ``from`` a ``requests`` exception, redacts its detail and replaces its cause with a
  copy of the same class that holds only the redacted message (no request, no URL).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from ..errors import ProviderError

__all__ = ["install_log_filter", "redact_query", "scrub"]

# "_login=" / "_password=" and their percent-encoded forms ("%5Flogin"), up to the next
# separator. Case-insensitive: a server or proxy echoing them in another case is caught too.
_SECRET_PARAM = re.compile(
    r"(?i)((?:_|%5f)(?:login|password)(?:=|%3d))[^&\s'\"<>)\]},;]*",
)
# urllib3's loggers that write URLs: the request line, and the retry counter.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def redact_query(text: str) -> str:
    """``text`` with the value of every ``_login``/``_password`` parameter replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", text)


class _QueryRedactingFilter(logging.Filter):
    """Redacts credential parameters in a record's message and arguments (never drops it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(a) if isinstance(a, str) else _redact_obj(a) for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: redact_query(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def _redact_obj(value: object) -> object:
    # urllib3 passes some values (an exception, a Retry) as objects formatted with %r/%s.
    if isinstance(value, BaseException | bytes) or type(value).__module__.startswith("urllib3"):
        return redact_query(str(value))
    return value


_FILTER = _QueryRedactingFilter()


def install_log_filter() -> None:
    """Put the redacting filter on urllib3's URL-writing loggers (once per process)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scrub(exc: ProviderError, redact: Callable[[str], str]) -> ProviderError:
    """Redact ``exc`` in place: its detail, and its cause, which is replaced by a bare copy.

    The copy keeps the cause's class and its redacted message, so a traceback still says what
    failed (``ConnectionError: … url: /api/message?_login=***&_password=*** …``), but not the
    request object, the URL or anything chained below it.
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
