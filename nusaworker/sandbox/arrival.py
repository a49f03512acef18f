"""When did a request really arrive? Kernel receive timestamps for the hit log.

The gap rule is judged on the arrival time of each hit. Stamping it in the handler thread
(``time.monotonic()`` once Python has parsed the headers) adds the thread's wake-up delay,
which under the GIL reaches several milliseconds on a busy process, and tens of
milliseconds when another thread of the process spins: enough to report gaps that never
happened on the wire (the fleet's pacing margin is 2 ms).

On Linux the socket can carry the kernel's receive time of every packet (``SO_TIMESTAMPNS``,
wall clock); :class:`StampedReader` reads the connection with ``recvmsg`` and converts that
time to the ``time.monotonic()`` clock, so a hit's arrival is when its first byte reached the
host, whatever the scheduler did afterwards. Elsewhere, if the option is refused, or for a
packet the kernel did not stamp (Linux switches stamping on lazily: packets in the first
moments after a server is bound may come unstamped) it falls back to ``time.monotonic()``
when the bytes are read.

Limit: the kernel merges packets queued on a socket and keeps the *latest* stamp. A handler
blocked waiting reads the first byte alone (so it gets the first packet's time); one that
comes late to a request sent in several packets (clients send headers and body separately)
gets the time of the last packet queued by then. Either way the stamp lies between the
request's first byte and the moment it was read: never worse than stamping at read time.
"""

from __future__ import annotations

import math
import socket
import struct
import sys
import time
from collections import deque

# Linux asm-generic values; Python's socket module does not name them.
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
TIMESPEC = struct.Struct("@ll")  # struct timespec of the classic ABI (time_t and long)
RECV_SIZE = 65536
MAX_PLAUSIBLE_DELAY_S = 60.0  # a larger distance means the wall clock jumped: do not trust it


def enable_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp received packets; True when it will."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def _clock_pair() -> tuple[float, float]:
    """``(monotonic, wall)`` read together; the tightest of a few tries (a thread switch
    between the two reads would otherwise shift every converted time)."""
    best = (math.inf, 0.0, 0.0)
    for _ in range(5):
        before = time.monotonic()
        wall = time.time()
        spread = time.monotonic() - before
        if spread < best[0]:
            best = (spread, before + spread / 2, wall)
        if spread < 20e-6:
            break
    return best[1], best[2]


class StampedReader:
    """A buffered reader over a socket that knows when each buffered byte arrived.

    Implements what ``http.server`` needs of ``rfile`` (``readline``, ``read``, ``close``)
    plus :meth:`next_arrival`.
    """

    def __init__(self, sock: socket.socket, *, stamped: bool) -> None:
        self._sock = sock
        self._stamped = stamped
        self._ancillary = socket.CMSG_SPACE(TIMESPEC.size) if stamped else 0
        self._buf = bytearray()
        # Per received chunk: [bytes of it still buffered, its arrival, 1.0 if kernel-stamped].
        self._chunks: deque[list[float]] = deque()
        self._eof = False
        self.closed = False
        self.kernel_stamped = False  # whether the latest chunk carried a kernel timestamp

    def _fill(self, size: int = RECV_SIZE) -> bool:
        """Receive one chunk (blocking, honouring the socket timeout); False at EOF."""
        if self._eof:
            return False
        stamp: float | None = None
        if self._stamped:
            data, ancdata, _, _ = self._sock.recvmsg(size, self._ancillary)
            stamp = self._convert(ancdata)
        else:
            data = self._sock.recv(size)
        self.kernel_stamped = stamp is not None
        arrival = time.monotonic() if stamp is None else stamp
        if not data:
            self._eof = True
            return False
        self._buf += data
        self._chunks.append([float(len(data)), arrival, float(stamp is not None)])
        return True

    @staticmethod
    def _convert(ancdata: list[tuple[int, int, bytes]]) -> float | None:
        """The kernel receive time on the monotonic clock, if the packet carries one."""
        now_mono, now_wall = _clock_pair()
        for level, kind, payload in ancdata:
            if (
                level == socket.SOL_SOCKET
                and kind == SCM_TIMESTAMPNS
                and len(payload) >= TIMESPEC.size
            ):
                sec, nsec = TIMESPEC.unpack_from(payload)
                delay = now_wall - (sec + nsec / 1e9)
                if -0.001 <= delay <= MAX_PLAUSIBLE_DELAY_S:
                    return now_mono - max(0.0, delay)
        return None

    def _take(self, size: int) -> bytes:
        out = bytes(self._buf[:size])
        del self._buf[:size]
        left = size
        while left > 0 and self._chunks:
            head = self._chunks[0]
            used = min(left, int(head[0]))
            head[0] -= used
            left -= used
            if head[0] <= 0:
                self._chunks.popleft()
        return out

    def next_arrival(self) -> tuple[float, bool] | None:
        """``(arrival, kernel_stamped)`` of the next unread byte; waits for one. None at EOF.

        ``arrival`` is on the ``time.monotonic()`` clock; ``kernel_stamped`` tells whether it
        is the kernel's receive time or only the moment the bytes were read.
        """
        # One byte only: a read spanning several packets reports the *last* packet's time, and
        # a client paused between sending headers and body would then look late.
        if not self._buf and not self._fill(1):
            return None
        head = self._chunks[0]
        return head[1], bool(head[2])

    def readline(self, limit: int = -1) -> bytes:
        """Bytes up to and including the next newline (at most ``limit``)."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0 and (limit < 0 or end < limit):
                return self._take(end + 1)
            if 0 <= limit <= len(self._buf):
                return self._take(limit)
            if not self._fill():
                return self._take(len(self._buf))

    def read(self, size: int = -1) -> bytes:
        """Exactly ``size`` bytes (fewer only at EOF); ``-1`` reads to EOF."""
        while size < 0 or len(self._buf) < size:
            if not self._fill():
                break
        return self._take(len(self._buf) if size < 0 else min(size, len(self._buf)))

    def close(self) -> None:
        """Forget the buffer (the socket belongs to the server)."""
        self.closed = True
        self._buf.clear()
        self._chunks.clear()
