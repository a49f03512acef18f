"""Keep ``_login``/``_password`` out of logs, exceptions and stored URLs: SmartSwitch takes
its credentials in the query string (seed 003). The guards are shared by every client
(:mod:`nusaworker.providers.redact`); these are their names as this client uses them."""

from __future__ import annotations

from ..redact import URL_LOGGERS, redact_query, scrub
from ..redact import install_log_redaction as install_log_filter

__all__ = ["URL_LOGGERS", "install_log_filter", "redact_query", "scrub"]
