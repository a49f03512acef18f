"""The e-mail sink: each alert as a plain-text message over SMTP (optionally STARTTLS + login)."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pydantic import SecretStr

from nusaworker.credit.alerts import Alert
from nusaworker.credit.errors import AlertDeliveryError
from nusaworker.errors import ConfigurationError

SUBJECT_PREFIX = "[nusaworker]"


def render_email(alert: Alert, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The e-mail for ``alert``: subject from its severity and title, the facts in the body."""
    message = EmailMessage()
    message["Subject"] = f"{SUBJECT_PREFIX} {alert.severity.upper()}: {alert.title}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(alert.at, localtime=False)
    message["Message-ID"] = make_msgid(domain="nusaworker")
    message["X-Nusaworker-Alert"] = str(alert.kind)
    details = json.dumps(alert.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
    message.set_content(f"{alert.text}\n\n{details}\n")
    return message


class SmtpSink:
    """Sends each alert to ``recipients`` through the SMTP server at ``host:port``."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int = 25,
        sender: str,
        recipients: Sequence[str],
        username: str = "",
        password: SecretStr | str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        if not host:
            raise ConfigurationError("alert_smtp_host: the smtp sink needs a server")
        if not sender or not recipients:
            raise ConfigurationError("alert_smtp_from and alert_smtp_to are required")
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.username = username
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self.starttls = starttls
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpSink(host={self.host!r}, port={self.port}, recipients={self.recipients!r})"

    def send(self, alert: Alert) -> None:
        message = render_email(alert, sender=self.sender, recipients=self.recipients)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self._password.get_secret_value())
                refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # The exception text never holds the password (smtplib does not echo it).
            raise AlertDeliveryError(
                f"smtp {self.host}:{self.port}: {type(exc).__name__}: {exc}"
            ) from None
        if refused:
            raise AlertDeliveryError(f"smtp {self.host}:{self.port} refused {sorted(refused)}")
