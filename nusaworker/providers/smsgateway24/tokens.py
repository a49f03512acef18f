"""The client's token: fetched once from e-mail and password, shared, renewed when refused.

Every call but ``gettoken`` carries a token instead of the password, so the password crosses
the wire once per token, not once per message. Threads of one worker share the client: the
first one that needs a token fetches it (under a lock, so a burst of sends makes one login,
not one each); a call refused for its token drops *that* token only — if another thread has
already renewed it, the new one is kept — and the next call fetches a fresh one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from ..gate import Priority

__all__ = ["TokenCache", "TokenRedactor"]


class TokenRedactor:
    """Replaces every token this client has held, in any text (whole tokens only)."""

    def __init__(self, base: Callable[[str], str]) -> None:
        self._base = base
        self._patterns: list[re.Pattern[str]] = []
        self._lock = threading.Lock()

    def add(self, token: str) -> None:
        """Remember a token to hide (its URL-encoded forms too)."""
        if not token:
            return
        with self._lock:
            for value in {token, quote(token, safe=""), quote_plus(token)}:
                self._patterns.append(
                    re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])")
                )
            # A long-lived worker renews tokens now and then; the last few are enough to hide.
            del self._patterns[:-24]

    def __call__(self, text: str) -> str:
        text = self._base(text)
        with self._lock:
            patterns = list(self._patterns)
        for pattern in patterns:
            text = pattern.sub("***", text)
        return text


class TokenCache:
    """Holds the current token; ``fetch`` makes the login hit when there is none."""

    def __init__(
        self,
        fetch: Callable[[Priority], SecretStr] | None,
        *,
        initial: SecretStr | None = None,
        on_new: Callable[[str], None] = lambda token: None,
    ) -> None:
        self._fetch = fetch
        self._token = initial if initial is not None and initial.get_secret_value() else None
        self._on_new = on_new
        self._lock = threading.Lock()
        self.fetches = 0  # how many logins this cache made (for tests and metrics)
        if self._token is not None:
            on_new(self._token.get_secret_value())

    def __repr__(self) -> str:
        return f"TokenCache(held={self._token is not None}, fetches={self.fetches})"

    @property
    def can_renew(self) -> bool:
        """True when a refused token can be replaced (e-mail and password are known)."""
        return self._fetch is not None

    def get(self, priority: Priority = "normal") -> str:
        """The current token, fetched first if there is none (raises what the login raises)."""
        with self._lock:
            if self._token is None:
                self._token = self._fetch_locked(priority)
            return self._token.get_secret_value()

    def renew(self, priority: Priority = "normal") -> str:
        """Fetch a new token whatever the current one is, and keep it."""
        with self._lock:
            self._token = self._fetch_locked(priority)
            return self._token.get_secret_value()

    def _fetch_locked(self, priority: Priority) -> SecretStr:
        if self._fetch is None:
            raise LookupError("no token and no e-mail/password to fetch one")
        token = self._fetch(priority)
        self.fetches += 1
        self._on_new(token.get_secret_value())
        return token

    def drop(self, stale: str) -> None:
        """Forget ``stale`` if it is still the current token (it was refused)."""
        with self._lock:
            if self._token is not None and self._token.get_secret_value() == stale:
                self._token = None
