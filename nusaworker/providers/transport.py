"""One HTTP session per client and one ``hit()``: gate → request → classify → retry.

Each attempt takes a slot from the pacing gate (a retry takes a fresh slot, so retries count
against the provider's rate like any hit) once its connection is open and right before the
request is written (:mod:`.paced_http`), and makes exactly one HTTP request: urllib3
never retries behind our back (``max_retries=0``) and redirects are not followed. The answer's
body is read within bounds (:mod:`.bounded`: 4 MiB, the read timeout). A 429 pushes the whole
fleet back through ``gate.penalize`` (at most :data:`MAX_PENALTY_S`) before anything else
happens. Tenacity decides from the error class whether to go again, within a budget of
attempts and seconds.

Whatever the provider answers, a hit ends in a result or an error of the taxonomy: a parser
that trips over an answer nobody foresaw (any exception but the taxonomy's) is logged as a bug
and the answer read as unreadable, like a body that is not JSON.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import requests
from pydantic import SecretStr, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from .bounded import MAX_ANSWER_BYTES, read_body
from .classify import error_for_exception, error_for_response, lost_answer
from .errors import SUCCESS_STATUSES, ProviderError, RateLimited
from .gate import Gate, Priority
from .paced_http import PacedAdapter, before_write
from .retry import DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, should_retry, wait_seconds

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_PENALTY_S",
    "Kind",
    "ReadError",
    "RetryPolicy",
    "Transport",
    "before_retry",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Kind = Literal["send", "read"]
# Reads a provider's own error codes out of a non-2xx answer (None: let the HTTP status decide).
ReadError = Callable[[requests.Response], ProviderError | None]

# How far one 429 may push the whole fleet's gate back, whatever its Retry-After says: a
# provider (or a proxy) asking for a day, or for 1e308 seconds, must not stop every worker of
# the account for that long on one answer. A longer wait is honoured by asking again each
# minute: one hit, one more 429, one more minute.
MAX_PENALTY_S = 60.0


_before_retry: ContextVar[Callable[[], None] | None] = ContextVar(
    "nusaworker_before_retry", default=None
)


@contextmanager
def before_retry(hook: Callable[[], None]) -> Iterator[None]:
    """Call ``hook`` whenever a hit of this thread failed and the client is about to wait and
    try again: the failure was one the provider did not process (only those are retried), so
    a caller that marked the hit as possibly delivered may take that back while it waits.
    Whatever the hook raises is logged and ignored: it must not change the retry."""
    token = _before_retry.set(hook)
    try:
        yield
    finally:
        _before_retry.reset(token)


@dataclass(frozen=True)
class RetryPolicy:
    """The client's short retry budget; longer retries belong to the ledger.

    ``rate_limit_penalty`` is how far the gate is pushed back on a 429 that carries no
    ``Retry-After`` (seconds).
    """

    max_attempts: int = 4
    max_retry_time: float = 20.0
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    # A bare 429 most often means two hits landed a little too close: pushing the whole fleet
    # back a few slots clears it; a provider that wants longer says so in Retry-After.
    rate_limit_penalty: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_retry_time < 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("retry times must not be negative")


class _Redactor:
    """Replaces secret values in text, matched only as whole tokens (``pass`` ≠ ``password``).

    The URL-encoded forms are covered too: a form body echoed by a proxy carries those.
    """

    def __init__(self, secrets: Iterable[SecretStr]) -> None:
        values: set[str] = set()
        for secret in secrets:
            value = secret.get_secret_value()
            if value:
                values.update({value, quote(value, safe=""), quote_plus(value)})
        self._patterns = [
            re.compile(rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])")
            for v in sorted(values, key=len, reverse=True)
        ]

    def __call__(self, text: str) -> str:
        for pattern in self._patterns:
            text = pattern.sub("***", text)
        return text


def _reason(exc: BaseException, redact: Callable[[str], str]) -> str:
    """A one-line reason; for a model mismatch the fields and messages, never the input."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        ]
        text = "; ".join(parts)
    else:
        text = str(exc).strip() or type(exc).__name__
    # Redact before cutting: a cut must never leave a prefix of a secret behind.
    return redact(text).splitlines()[0][:300]


class Transport:
    """The HTTP side of a provider client: pooled session, pacing, classification, retries."""

    def __init__(
        self,
        *,
        base_url: str,
        gate: Gate,
        account: str,
        connect_timeout: float,
        read_timeout: float,
        policy: RetryPolicy,
        secrets: Sequence[SecretStr] = (),
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_answer_bytes = max_answer_bytes
        self.account = account
        self.policy = policy
        self._gate = gate
        self._timeout = (connect_timeout, read_timeout)
        self._sleep = sleep
        self.redact: Callable[[str], str] = _Redactor(secrets)
        self._session = requests.Session()
        # Sized for a thread pool sharing the client; max_retries=0: every retry is ours, paced.
        adapter = PacedAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def hit(
        self,
        method: str,
        path: str,
        *,
        kind: Kind,
        parse: Callable[[requests.Response], T],
        priority: Priority = "normal",
        headers: dict[str, str] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        files: Sequence[tuple[str, tuple[Any, ...]]] | None = None,
        read_error: ReadError | None = None,
    ) -> T:
        """Make one logical call, retried as the policy allows, and return ``parse(response)``.

        ``parse`` sees only 2xx answers. It may raise a :class:`ProviderError` (a refusal inside
        a 200) or :class:`ValueError` (unreadable: ambiguous for a send, transient for a read).
        ``read_error`` (optional) sees non-2xx answers first: a provider whose error bodies
        carry codes of their own maps them there; ``None`` leaves the HTTP status to decide.
        """
        url = self.base_url + path
        is_send = kind == "send"
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts)
            | stop_before_delay(self.policy.max_retry_time),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            before_sleep=self._log_retry,
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                response = self._one(
                    method, url, number, priority, is_send, headers, json, data, files, read_error
                )
                result = self._parse(response, parse, is_send)
        return result

    # --------------------------------------------------------------------------------- internals

    def _one(
        self,
        method: str,
        url: str,
        attempt: int,
        priority: Priority,
        is_send: bool,
        headers: dict[str, str] | None,
        json: Any,
        data: dict[str, str] | None,
        files: Sequence[tuple[str, tuple[Any, ...]]] | None,
        read_error: ReadError | None = None,
    ) -> requests.Response:
        # Everything that can be done before the slot is done before it (encoding the body,
        # reading proxy/netrc settings from the environment): the hit must leave as soon as
        # the gate says "fire now", or it lands late in its slot, close to the next one.
        try:
            prepared = self._session.prepare_request(
                requests.Request(method, url, headers=headers, json=json, data=data, files=files)
            )
            settings = self._session.merge_environment_settings(prepared.url, {}, None, None, None)
        except requests.RequestException as exc:  # a malformed URL: no slot is wasted on it
            raise error_for_exception(exc, is_send=is_send) from exc
        path = urlsplit(url).path
        started = time.monotonic()
        try:
            # The slot is taken inside the connection, after it is open (see paced_http).
            with before_write(lambda: self._gate.acquire(self.account, priority=priority)):
                # Streamed: the body is read below, within bounds (.bounded).
                settings["stream"] = True
                response = self._session.send(
                    prepared, timeout=self._timeout, allow_redirects=False, **settings
                )
        except requests.RequestException as exc:
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug(
                "hit %s %s status=- error=%s elapsed_ms=%.1f attempt=%d",
                method, path, type(exc).__name__, elapsed_ms, attempt,
            )  # fmt: skip
            raise error_for_exception(exc, is_send=is_send, sent=True) from exc
        body = read_body(response, limit=self.max_answer_bytes, timeout=self._timeout[1])
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug(
            "hit %s %s status=%d elapsed_ms=%.1f attempt=%d bytes=%d",
            method, path, response.status_code, elapsed_ms, attempt, len(body.data),
        )  # fmt: skip
        success = response.status_code in SUCCESS_STATUSES
        if body.problem is not None and success:
            raise lost_answer(
                f"HTTP {response.status_code} answer {body.problem}",
                is_send=is_send,
                status_code=response.status_code,
            )
        # An error status says what it says, however much of its body arrived.
        error = None
        if read_error is not None and not success:
            error = self._read_error(read_error, response)
        error = error or error_for_response(
            response.status_code,
            response.headers,
            response.content,
            is_send=is_send,
            redact=self.redact,
        )
        if isinstance(error, RateLimited):
            asked = error.retry_after
            penalty = self.policy.rate_limit_penalty if asked is None else asked
            self._gate.penalize(self.account, min(penalty, MAX_PENALTY_S))
        if error is not None:
            raise error
        return response

    def _parse(
        self, response: requests.Response, parse: Callable[[requests.Response], T], is_send: bool
    ) -> T:
        try:
            return parse(response)
        except ProviderError as exc:
            exc.detail = self.redact(exc.detail)
            exc.args = (exc.detail,)
            raise
        except ValueError as exc:
            # pydantic's ValidationError is a ValueError: a 2xx whose body does not fit the model.
            # Not chained: the original quotes the body, which is not ours to put in a log.
            reason = _reason(exc, self.redact)
            raise lost_answer(
                f"HTTP {response.status_code} answer unreadable ({reason})",
                is_send=is_send,
                status_code=response.status_code,
            ) from None
        except Exception as exc:
            # Not the taxonomy, not "unreadable": the answer broke an assumption of a parser.
            # The caller gets the same as for an unreadable answer; the bug is logged.
            reason = _reason(exc, self.redact)
            log.error(
                "parser bug: a %d answer of %s raised %s (%s); read as unreadable",
                response.status_code, urlsplit(response.url or "").path, type(exc).__name__,
                reason,
            )  # fmt: skip
            raise lost_answer(
                f"HTTP {response.status_code} answer unreadable ({type(exc).__name__})",
                is_send=is_send,
                status_code=response.status_code,
            ) from None

    def _read_error(
        self, read_error: ReadError, response: requests.Response
    ) -> ProviderError | None:
        """A provider's own reading of an error answer; one that trips over the body (a
        parser bug, logged) leaves the HTTP status to decide."""
        try:
            return read_error(response)
        except Exception as exc:
            log.error(
                "parser bug: reading a %d error answer raised %s (%s); judged by its status",
                response.status_code, type(exc).__name__, _reason(exc, self.redact),
            )  # fmt: skip
            return None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return wait_seconds(
            exc,
            state.attempt_number,
            base=self.policy.backoff_base,
            cap=self.policy.backoff_cap,
        )

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "retrying after %s (attempt %d failed), waiting %.2fs",
            type(exc).__name__, state.attempt_number, sleep,
        )  # fmt: skip
        hook = _before_retry.get()
        if hook is not None:
            try:
                hook()
            except Exception as hook_exc:  # never let bookkeeping change the retry
                log.warning("before-retry hook failed: %s", hook_exc)
