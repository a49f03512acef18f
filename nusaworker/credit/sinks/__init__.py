"""Alert sinks, one module each: structured log, signed JSON webhook, e-mail over SMTP.

:func:`build_sinks` turns settings into the configured sinks (``alert_sinks``, a list of
names); each sink checks its own settings when built, so a mistake shows at start-up, not at
the first alert.
"""

from __future__ import annotations

from nusaworker.errors import ConfigurationError
from nusaworker.settings import Settings

from .log import LogSink
from .smtp import SmtpSink
from .webhook import SIGNATURE_HEADER, WebhookSink, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "SINK_NAMES",
    "LogSink",
    "SmtpSink",
    "WebhookSink",
    "build_sinks",
    "sign",
    "verify",
]

SINK_NAMES = ("log", "webhook", "smtp")


def build_sinks(settings: Settings) -> list[LogSink | WebhookSink | SmtpSink]:
    """The sinks named in ``settings.alert_sinks``, configured from the ``alert_*`` settings."""
    sinks: list[LogSink | WebhookSink | SmtpSink] = []
    for name in settings.alert_sinks:
        if name == "log":
            sinks.append(LogSink())
        elif name == "webhook":
            sinks.append(
                WebhookSink(
                    settings.alert_webhook_url,
                    secret=settings.alert_webhook_secret,
                    timeout=settings.alert_timeout_s,
                )
            )
        elif name == "smtp":
            sinks.append(
                SmtpSink(
                    host=settings.alert_smtp_host,
                    port=settings.alert_smtp_port,
                    sender=settings.alert_smtp_from,
                    recipients=settings.alert_smtp_to,
                    username=settings.alert_smtp_user,
                    password=settings.alert_smtp_password,
                    starttls=settings.alert_smtp_starttls,
                    timeout=settings.alert_timeout_s,
                )
            )
        else:
            raise ConfigurationError(
                f"alert_sinks: unknown sink {name!r} (known: {', '.join(SINK_NAMES)})"
            )
    return sinks
