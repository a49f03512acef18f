"""The HTTP side: a threading HTTP/1.1 server, routing, the gap rule and fault injection.

Order of events for a provider hit (anything not under ``/_sandbox/``):

1. arrival timestamp: when the request's first byte reached the host (kernel receive time on
   the ``time.monotonic()`` clock, see :mod:`.arrival`), taken before any parsing;
2. body read, account resolved (APIKey header, else SMS user/password; else account ``"?"``);
3. hit registered and judged by the gap rule, faults drawn (one lock, one seeded RNG);
4. fault latency; then a rate-rule 429, an injected 429/5xx, or the endpoint itself;
5. after-processing faults (drop / hold until timeout / malformed body / garbage) and the
   answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import logging
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from . import garbage, nusasms, smartswitch, smsgateway24, wachat
from .arrival import StampedReader, enable_timestamps
from .control import handle_control
from .router import Ctx, Route, Router
from .state import Admission
from .wire import (
    Invalid,
    Request,
    Response,
    error_envelope,
    html_error,
    json_response,
    unprocessable,
)

log = logging.getLogger(__name__)

# Every emulated provider's routes; a new provider is its subpackage plus one entry here.
PROVIDER = Router([*nusasms.ROUTES, *wachat.ROUTES, *smartswitch.ROUTES, *smsgateway24.ROUTES])
QUERY = re.compile(r"\?\S*")  # what follows "?" in a logged request line (may hold a password)
HANDLER_TIMEOUT_S = 15.0  # idle keep-alive connections close after this; stop() closes them at once


class SandboxServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that knows its open connections so ``stop`` is prompt."""

    daemon_threads = True
    allow_reuse_address = True
    # The default backlog (5) makes bursts of new connections from a fleet wait for SYN retries.
    request_queue_size = 128
    stamped = False  # kernel receive timestamps available (see server_bind)

    def __init__(self, address: tuple[str, int], ctx: Ctx, stopping: threading.Event) -> None:
        super().__init__(address, SandboxHandler)
        self.ctx = ctx
        self.stopping = stopping
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()

    def server_bind(self) -> None:
        """Bind, with packet timestamps switched on for the listening socket.

        Accepted sockets inherit the option, so even a request sent before its handler thread
        ran carries its receive time.
        """
        super().server_bind()
        self.stamped = enable_timestamps(self.socket)

    def track(self, conn: socket.socket, *, opened: bool) -> None:
        """Remember (or forget) a live connection and the thread serving it."""
        with self._open_lock:
            if opened:
                self._open[conn] = threading.current_thread()
            else:
                self._open.pop(conn, None)

    def close_connections(self, join_timeout: float = 2.0) -> None:
        """Shut every live connection down and wait (briefly) for their threads."""
        with self._open_lock:
            open_now = list(self._open.items())
        for conn, _ in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + join_timeout
        for _, thread in open_now:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


class SandboxHandler(BaseHTTPRequestHandler):
    """One connection; serves keep-alive requests until the client or ``stop`` closes it."""

    protocol_version = "HTTP/1.1"
    server_version = "NusaSMS-Sandbox/1.0"
    timeout = HANDLER_TIMEOUT_S
    # Headers and body leave in one segment: without these, Nagle and delayed ACKs add ~40 ms
    # to answers written in two pieces.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    @property
    def box(self) -> SandboxServer:
        """The server, typed."""
        return cast(SandboxServer, self.server)

    def setup(self) -> None:
        """Read through a :class:`StampedReader`; register the connection for ``stop``."""
        super().setup()
        self.rfile.close()
        self._reader = StampedReader(self.connection, stamped=enable_timestamps(self.connection))
        self.rfile = cast(Any, self._reader)
        self._arrival = 0.0
        self._kernel_stamped = False
        self.box.track(self.connection, opened=True)

    def handle_one_request(self) -> None:
        """Note when the next request's first byte arrived, then serve it."""
        try:
            arrival = self._reader.next_arrival()
        except OSError:  # includes the socket timeout of an idle keep-alive connection
            arrival = None
        if arrival is None:
            self.close_connection = True
            return
        self._arrival, self._kernel_stamped = arrival
        super().handle_one_request()

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.box.track(self.connection, opened=False)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Access log at debug level, without the query string (SMS passwords ride there)."""
        path = getattr(self, "path", "").split("?")[0]
        log.debug("sandbox %s %s -> %s", getattr(self, "command", "-"), path, code)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep other server chatter quiet (debug level only), query strings cut off."""
        clean = tuple(QUERY.sub("?...", a) if isinstance(a, str) else a for a in args)
        log.debug("sandbox: " + format, *clean)

    def do_GET(self) -> None:
        """Dispatch GET."""
        self._dispatch(self._arrival)

    def do_POST(self) -> None:
        """Dispatch POST."""
        self._dispatch(self._arrival)

    def do_PUT(self) -> None:
        """Dispatch PUT (answered 405 on provider paths)."""
        self._dispatch(self._arrival)

    def do_PATCH(self) -> None:
        """Dispatch PATCH (answered 405 on provider paths)."""
        self._dispatch(self._arrival)

    def do_DELETE(self) -> None:
        """Dispatch DELETE (answered 405 on provider paths)."""
        self._dispatch(self._arrival)

    # -- plumbing -----------------------------------------------------------------------------

    def _dispatch(self, arrival: float) -> None:
        try:
            self._serve(arrival)
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
        except Exception:  # one bad request must never take the server down
            log.exception("sandbox failed on %s %s", self.command, self.path.split("?")[0])
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._write(error_envelope(500, "Internal sandbox error"))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, resp: Response) -> None:
        if resp.framing != "length":
            self._write_garbage(resp)
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(resp.body)
        self.wfile.flush()

    def _write_garbage(self, resp: Response) -> None:
        """Write a garbage answer in its framing (see :mod:`.garbage`); the connection closes."""
        self.close_connection = True
        if resp.framing == "raw":
            self.wfile.write(resp.body)
            self.wfile.flush()
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        if resp.framing == "overstated":
            self.send_header("Content-Length", str(resp.declared_length or len(resp.body) + 1))
        elif resp.framing == "drip":
            self.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if resp.framing != "drip":
            self.wfile.write(resp.body)
            self.wfile.flush()
            return
        self.wfile.flush()
        for at in range(len(resp.body)):
            if self.box.stopping.wait(garbage.DRIP_INTERVAL_S):
                return
            self.wfile.write(resp.body[at : at + 1])  # a client that gave up: OSError, ends it
            self.wfile.flush()

    def _serve(self, arrival: float) -> None:
        split = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
            arrival=arrival,
            kernel_stamped=self._kernel_stamped,
            query_string=split.query,
        )
        ctx = self.box.ctx
        if req.path == "/_sandbox" or req.path.startswith("/_sandbox/"):
            self._write(handle_control(ctx, req))
            return
        found, params, known = PROVIDER.match(req.method, req.path)
        if found is not None and found.resolve is not None:
            req.account = found.resolve(ctx.state, req)
        else:
            req.account = ctx.state.resolve(req)
        admission = ctx.state.admit(
            req, found.kind if found else "other", paced=found.paced if found else True
        )
        decision = admission.faults
        if decision.delay_s > 0 and self.box.stopping.wait(decision.delay_s):
            self.close_connection = True
            return
        resp, fault = self._answer(ctx, req, admission, found, params, known)
        if fault in ("drop", "timeout"):
            ctx.state.finish(admission.hit, 0, fault=fault, resp=resp)
            if fault == "timeout":
                self.box.stopping.wait(decision.hold_s)
            self.close_connection = True  # no answer at all: the client cannot know
            return
        ctx.state.finish(admission.hit, resp.status, fault=fault, resp=resp)
        self._write(resp)

    def _answer(
        self,
        ctx: Ctx,
        req: Request,
        admission: Admission,
        found: Route | None,
        params: dict[str, str],
        known: bool,
    ) -> tuple[Response, str | None]:
        decision = admission.faults
        if admission.rate_limited:
            return error_envelope(429, "Too many requests"), "rate_rule"
        if decision.reject == "429":
            resp = error_envelope(429, "Too many requests")
            if decision.retry_after:
                resp.headers["Retry-After"] = retry_after_value(ctx)
            return resp, "429"
        if decision.reject == "5xx":
            return html_error(decision.status_5xx), "5xx"
        if found is None:
            if known:
                return json_response(405, {"detail": "Method Not Allowed"}), None
            return json_response(404, {"detail": "Not Found"}), None
        try:
            resp = found.handler(ctx, req, params)
        except Invalid as exc:
            resp = unprocessable(exc.detail)
        if decision.after in ("drop", "timeout") and resp.accepted:
            return resp, decision.after
        if decision.after == "malformed" and resp.status < 300:
            body = b"" if decision.malformed_empty else resp.body[: max(1, len(resp.body) // 2)]
            return dataclasses.replace(resp, body=body), "malformed"
        if decision.after == "garbage" and decision.garbage_kind is not None:
            made = garbage.make(decision.garbage_kind, resp, decision.garbage_seed)
            return made, f"garbage:{decision.garbage_kind}:{decision.garbage_seed}"
        return resp, None


def retry_after_value(ctx: Ctx) -> str:
    """``Retry-After`` per the fault profile: whole seconds, or an HTTP-date."""
    profile = ctx.state.faults
    if profile.retry_after_date:
        return email.utils.formatdate(time.time() + profile.retry_after_s, usegmt=True)
    return str(math.ceil(profile.retry_after_s))
