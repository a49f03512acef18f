"""The SMS ``command`` API's query string: its login must ride in the URL (seeds 000/001), so
the shared guards of :mod:`nusaworker.providers.redact` keep it out of logs and exceptions."""

from __future__ import annotations

from urllib.parse import urlencode

from ..redact import REDACTED, install_log_redaction, redact_query, without_cause

__all__ = [
    "REDACTED",
    "install_log_redaction",
    "path_with_query",
    "redact_query",
    "without_cause",
]


def path_with_query(path: str, params: dict[str, str]) -> str:
    """``path?params`` encoded as a form would be (``quote_plus``)."""
    return f"{path}?{urlencode(params)}"
