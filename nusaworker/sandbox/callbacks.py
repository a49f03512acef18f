"""Pushes (provider → user callbacks): what each one looks like and a worker that sends them.

All pushes hang off one base ``callback_url`` with a path per kind (the real provider lets a
user register separate URLs; the project's receiver serves these paths):

=========================== ====== =====================================================
``{base}/wa/status``        GET    ``ref_no, status (S D R A F), sent_date, err_code``
``{base}/wa_official/status`` POST JSON ``{ref_no, status, status_date}``
``{base}/sms/status``       GET    ``ref_no, status (SENT DELIVERED FAILED REJECTED), …``
``{base}/wa/inbox``         POST   form ``id, gateway_number, originator, receive_date, msg``
``{base}/wa_official/inbox`` POST JSON ``{room_id, ref_no, text, inbox_date, sender_number}``
``{base}/sms/inbox``        POST   form, same fields as the WA inbox
``{base}/wa/phone_check``   POST   JSON ``{"phone_numbers": [{phone_number, is_registered}]}``
=========================== ====== =====================================================

(A phone check that names its own ``callback_url`` gets the result there instead.) Dates are
UTC ``YYYY-MM-DD HH:MM:SS``. A push that fails is logged and counted, never retried, and never
disturbs the server.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .messages import Message, format_plain

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 2.0
# Failure codes the sandbox reports with a failed status (the documents do not list them).
ERR_CODES = {"F": "1", "A": "2", "FAILED": "1", "REJECTED": "2", "failed": "1"}


@dataclass(frozen=True)
class Push:
    """One HTTP request to a user's callback endpoint."""

    method: str
    url: str
    body: bytes | None = None
    content_type: str | None = None
    not_before: float = 0.0  # monotonic time before which it is not sent


def join_url(base: str, suffix: str) -> str:
    """``base`` + ``suffix`` with exactly one slash between them."""
    return base.rstrip("/") + suffix


def status_push(base: str, message: Message, index: int) -> Push:
    """The push announcing that ``message`` reached step ``index`` of its path."""
    status = message.path[index]
    when = format_plain(message.step_wall(index))
    if message.channel == "wa_official":
        body = {"ref_no": message.ref_no, "status": status, "status_date": when}
        return json_push(join_url(base, "/wa_official/status"), body)
    sent_index = 1 if len(message.path) > 1 and index >= 1 else index
    query = {
        "ref_no": message.ref_no,
        "status": status,
        "sent_date": format_plain(message.step_wall(sent_index)),
        "err_code": ERR_CODES.get(status, "0"),
    }
    suffix = "/wa/status" if message.channel == "wa" else "/sms/status"
    return Push("GET", join_url(base, suffix) + "?" + urlencode(query))


def json_push(url: str, body: Any, *, delay_s: float = 0.0) -> Push:
    """A JSON POST push."""
    return Push(
        "POST",
        url,
        json.dumps(body).encode(),
        "application/json",
        not_before=time.monotonic() + delay_s,
    )


def form_push(url: str, fields: dict[str, str]) -> Push:
    """A form-encoded POST push."""
    return Push("POST", url, urlencode(fields).encode(), "application/x-www-form-urlencoded")


class Pusher:
    """A background thread delivering pushes in order, one at a time."""

    def __init__(self, on_result: Callable[[bool], None]) -> None:
        self._queue: queue.Queue[Push | None] = queue.Queue()  # None wakes the worker to stop
        self._on_result = on_result
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        # Pushes go straight to the target: an environment proxy must not see 127.0.0.1 calls.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._thread = threading.Thread(target=self._run, name="sandbox-pusher", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker (pending pushes are dropped) and join it."""
        self._stop.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=PUSH_TIMEOUT_S + 1)

    def submit(self, push: Push) -> None:
        """Queue a push."""
        with self._idle:
            self._pending += 1
        self._queue.put(push)

    def clear(self) -> None:
        """Drop every queued push (used by ``reset``)."""
        while True:
            try:
                push = self._queue.get_nowait()
            except queue.Empty:
                return
            if push is not None:
                self._done()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued push was attempted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            push = self._queue.get()
            if push is None:
                return
            try:
                delay = push.not_before - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                ok = self._deliver(push)
                self._on_result(ok)
            finally:
                self._done()

    def _deliver(self, push: Push) -> bool:
        headers = {"Content-Type": push.content_type} if push.content_type else {}
        request = urllib.request.Request(
            push.url, data=push.body, headers=headers, method=push.method
        )
        try:
            with self._opener.open(request, timeout=PUSH_TIMEOUT_S) as answer:
                answer.read()
            return True
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # The URL path is safe to log; pushes never carry credentials.
            log.warning("sandbox push %s %s failed: %s", push.method, push.url.split("?")[0], exc)
            return False
