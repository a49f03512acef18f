"""The log sink: one structured log line per alert, level from its severity."""

from __future__ import annotations

import json
import logging

from nusaworker.credit.alerts import Alert, Severity

LOGGER_NAME = "nusaworker.alerts"

_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.CRITICAL,
}


class LogSink:
    """Logs each alert on ``nusaworker.alerts``: a readable line that ends in the alert as JSON.

    The alert's dict is also attached as ``record.alert`` for JSON log formatters.
    """

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(LOGGER_NAME)

    def send(self, alert: Alert) -> None:
        data = alert.to_dict()
        self.logger.log(
            _LEVELS[alert.severity],
            "ALERT %s: %s %s",
            alert.kind,
            alert.title,
            json.dumps(data, sort_keys=True, ensure_ascii=False),
            extra={"alert": data},
        )
