"""The token-bearing call: every SmsGateway24 call but the login carries the current token.

:class:`TokenSession` sits between the client's methods and the shared
:class:`~nusaworker.providers.transport.Transport`: it logs in (``gettoken``, e-mail and
password in the POST body) when there is no token, adds the token to each call, reads the
answer frame, and when the provider refuses the token — an ``"error": 1`` that names it, or an
HTTP 401 — fetches a new one and makes the call again, once. That is safe for a send too: a
refused call queued nothing. A second refusal is an :class:`~..errors.AuthError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests
from pydantic import SecretStr

from nusaworker.errors import ConfigurationError

from ..errors import AuthError
from ..gate import Priority
from ..transport import Kind, Transport
from .answer import TokenRefused, read_answer
from .endpoints import Endpoints
from .models.answers import TokenAnswer
from .tokens import TokenCache, TokenRedactor

__all__ = ["FileParts", "TokenSession"]

R = TypeVar("R")
FileParts = Sequence[tuple[str, tuple[str, bytes, str]]]


class TokenSession:
    """Calls with a token, renewed once when refused; the token stays out of every error."""

    def __init__(
        self,
        transport: Transport,
        endpoints: Endpoints,
        *,
        email: SecretStr,
        password: SecretStr,
        token: SecretStr,
    ) -> None:
        self._transport = transport
        self._endpoints = endpoints
        self._email = email
        self._password = password
        # Tokens are learnt at run time: every one this client holds is hidden from errors too.
        self.redact = TokenRedactor(transport.redact)
        transport.redact = self.redact
        can_login = bool(email.get_secret_value() and password.get_secret_value())
        self._tokens = TokenCache(
            self._login if can_login else None, initial=token, on_new=self.redact.add
        )

    def __repr__(self) -> str:
        return f"TokenSession({self._tokens!r})"

    @property
    def logins(self) -> int:
        """How many tokens were fetched (``gettoken`` calls that succeeded)."""
        return self._tokens.fetches

    def authenticate(self, priority: Priority) -> None:
        """Fetch a fresh token now; :class:`ConfigurationError` without e-mail and password."""
        if not self._tokens.can_renew:
            raise ConfigurationError("authenticate needs the SmsGateway24 email and password")
        self._tokens.renew(priority)

    def _token(self, priority: Priority) -> str:
        try:
            return self._tokens.get(priority)
        except LookupError:
            raise ConfigurationError(
                "this call needs the SmsGateway24 email and password (or a token)"
            ) from None

    def _login(self, priority: Priority) -> SecretStr:
        """``gettoken``: e-mail and password (in the POST body) for a token."""
        name = self._endpoints.name_of(self._endpoints.token)

        def parse(response: requests.Response) -> SecretStr:
            found = read_answer(
                response.status_code,
                response.content,
                endpoint=name,
                is_send=False,
                login=True,
                redact=self.redact,
            )
            assert not isinstance(found, TokenRefused)  # login=True never answers that
            return TokenAnswer.model_validate(found).token

        form = {
            "email": self._email.get_secret_value(),
            "pass": self._password.get_secret_value(),
        }
        return self._transport.hit(
            "POST",
            self._endpoints.token,
            kind="read",
            parse=parse,
            priority=priority,
            headers={"Accept": "application/json"},
            data=form,
        )

    def call(
        self,
        path: str,
        kind: Kind,
        priority: Priority,
        form: Callable[[str], dict[str, str]],
        validate: Callable[[Any], R],
        *,
        files: FileParts | None = None,
    ) -> R:
        """One call with the current token; a refused token is renewed and the call made
        again, once (safe for a send too: the provider refused it, so nothing was queued)."""
        renewed = False
        while True:
            token = self._token(priority)
            result = self._hit(path, kind, priority, form(token), validate, files)
            if not isinstance(result, TokenRefused):
                return result
            if renewed or not self._tokens.can_renew:
                name = self._endpoints.name_of(path)
                raise AuthError(
                    f"SmsGateway24 refused the token ({name}): {result.message}",
                    provider_code=1,
                )
            renewed = True
            self._tokens.drop(token)

    def _hit(
        self,
        path: str,
        kind: Kind,
        priority: Priority,
        form: dict[str, str],
        validate: Callable[[Any], R],
        files: FileParts | None,
    ) -> R | TokenRefused:
        name = self._endpoints.name_of(path)

        def parse(response: requests.Response) -> R | TokenRefused:
            found = read_answer(
                response.status_code,
                response.content,
                endpoint=name,
                is_send=kind == "send",
                redact=self.redact,
            )
            return found if isinstance(found, TokenRefused) else validate(found)

        try:
            return self._transport.hit(
                "POST",
                path,
                kind=kind,
                parse=parse,
                priority=priority,
                headers={"Accept": "application/json"},
                data=form,
                files=files,
            )
        except AuthError as exc:
            # The document speaks of no HTTP statuses; a 401 can only be about the token here.
            if exc.status_code == 401:
                return TokenRefused(exc.detail)
            raise
