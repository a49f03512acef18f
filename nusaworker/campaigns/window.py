"""A sending window: the hours of the day, on a zone's wall clock, in which a campaign may send.

``SendingWindow("08:00", "20:00", "Asia/Jakarta")`` is open while a clock on a wall in Jakarta
shows a time from 08:00 (inclusive) to 20:00 (exclusive). That one rule — *the wall clock of
the zone at the instant* — decides every case:

- **overnight**: ``end < start`` (``22:00``-``06:00``) is open from 22:00 through midnight to
  06:00; ``start == end`` is refused (a window that is always open is no window: leave it out);
- **spring forward** (the clock jumps 02:00 → 03:00): a window 02:00-03:30 opens at the jump,
  when the clock first shows a time in it (03:00), and is open half an hour that day; a window
  whose end falls in the skipped hour closes at the jump;
- **fall back** (the clock shows 02:00-03:00 twice): a window 02:00-03:30 stays open from the
  first 02:00 to 03:30, two and a half hours; a boundary inside the repeated hour is crossed
  twice (01:15-01:45 in New York is open twice that night);
- **boundaries**: ``start`` is open, ``end`` is closed, to the microsecond.

Instants are epoch seconds (floats). A zone is an IANA name read with :mod:`zoneinfo`; the
``tzdata`` package ships the zone data for machines without it, so a name means the same on every
machine of a fleet. Bad input raises :class:`~nusaworker.campaigns.errors.CampaignInputError`
naming the field.

How :meth:`SendingWindow.next_open` and :meth:`~SendingWindow.next_close` find the next change
exactly: between two offset transitions of the zone, the wall clock is the instant plus a fixed
offset, so the next crossing of a boundary is arithmetic; a transition met on the way (the
offset at the candidate differs) is located to the second by bisection — zones change their
offset on whole seconds — and the search goes on from it. Offsets are looked at every
:data:`_SCAN_S` (six hours) at most, which assumes a zone changes its offset at most once in
that time: in the IANA database, two changes of one zone's offset since 1970 are a week apart at
the least (Brazil, 2000).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nusaworker.campaigns.errors import CampaignInputError

DAY_S = 86_400
# The longest stretch over which the offset is assumed to change at most once (module docstring).
_SCAN_S = 6 * 3600
# A search passes at most a few transitions before it meets a boundary (one day of wall time, at
# most two transitions); the bound only turns a bug into an error instead of a hang.
_MAX_STEPS = 32

_TIME = re.compile(r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})")
# What :meth:`SendingWindow.describe` puts between the two times; :meth:`~SendingWindow.parse`
# reads it as well as the hyphen of the CLI form.
EN_DASH = "\u2013"
_WINDOW = re.compile(r"\s*(?P<start>[0-9:]+)\s*[\-\u2013]\s*(?P<end>[0-9:]+)(?:\s+(?P<tz>\S+))?\s*")


def zone(name: Any, field_name: str = "tz") -> ZoneInfo:
    """The IANA zone ``name``, or :class:`CampaignInputError` naming ``field_name``."""
    if not isinstance(name, str) or not name.strip():
        raise CampaignInputError(f"{field_name}: a time zone name is required (e.g. Asia/Jakarta)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise CampaignInputError(
            f"{field_name}: unknown time zone {name!r} (an IANA name such as Asia/Jakarta)"
        ) from exc


def _seconds_of_day(text: Any, field_name: str) -> int:
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise CampaignInputError(
            f"sending window {field_name}: {text!r} is not a time of day (HH:MM, 00:00 to 23:59)"
        )
    return int(match["h"]) * 3600 + int(match["m"]) * 60


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True)
class SendingWindow:
    """Local times ``start`` (open) and ``end`` (closed), ``"HH:MM"``, in the IANA zone ``tz``.

    ``end`` before ``start`` is an overnight window. Raises :class:`CampaignInputError` for a
    malformed time, an unknown zone, or ``start == end``. Times are kept as ``"HH:MM"``
    (``"8:00"`` becomes ``"08:00"``).
    """

    start: str
    end: str
    tz: str
    _start_s: int = field(init=False, repr=False, compare=False)
    _end_s: int = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start_s = _seconds_of_day(self.start, "start")
        end_s = _seconds_of_day(self.end, "end")
        if start_s == end_s:
            raise CampaignInputError(
                f"sending window: start and end are both {_hhmm(start_s)}; a window that is "
                "always open is no window (leave it out)"
            )
        for name, value in (
            ("start", _hhmm(start_s)),
            ("end", _hhmm(end_s)),
            ("_start_s", start_s),
            ("_end_s", end_s),
            ("_zone", zone(self.tz, "sending window tz")),
        ):
            object.__setattr__(self, name, value)

    # -- forms -----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, default_tz: str = "UTC") -> SendingWindow:
        """The window written ``"08:00-20:00 Asia/Jakarta"`` (the CLI form; an en dash as
        :meth:`describe` writes it is accepted too); without a zone, ``default_tz``."""
        match = _WINDOW.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise CampaignInputError(
                f"sending window: {text!r} is not of the form 'HH:MM-HH:MM [Zone/Name]'"
            )
        return cls(match["start"], match["end"], match["tz"] or default_tz)

    def describe(self) -> str:
        """``"08:00\u201320:00 Asia/Jakarta"`` (an en dash), for status output."""
        return f"{self.start}{EN_DASH}{self.end} {self.tz}"

    def to_json(self) -> dict[str, str]:
        """The window as a JSON-ready dict (what a campaign record stores)."""
        return {"start": self.start, "end": self.end, "tz": self.tz}

    @classmethod
    def from_json(cls, data: Any) -> SendingWindow:
        """The window :meth:`to_json` wrote; :class:`CampaignInputError` if ``data`` is not one."""
        if not isinstance(data, dict) or set(data) != {"start", "end", "tz"}:
            raise CampaignInputError(
                f"sending window: expected a dict with start, end and tz, got {data!r}"
            )
        return cls(data["start"], data["end"], data["tz"])

    @property
    def overnight(self) -> bool:
        """Whether the window spans midnight (``end`` before ``start``)."""
        return self._end_s < self._start_s

    # -- instants --------------------------------------------------------------------------------

    def is_open(self, at: float) -> bool:
        """Whether the window is open at the instant ``at`` (epoch seconds)."""
        return self._open_on_wall(at + self._offset(at))

    def next_open(self, at: float) -> float:
        """The first instant from ``at`` on at which the window is open: ``at`` itself if it is
        open then."""
        return self._next_change(at, want_open=True)

    def next_close(self, at: float) -> float:
        """The first instant from ``at`` on at which the window is closed: ``at`` itself if it is
        closed then. The end of the next open spell is ``next_close(next_open(at))``."""
        return self._next_change(at, want_open=False)

    # -- the arithmetic --------------------------------------------------------------------------

    def _offset(self, at: float) -> int:
        # Offsets change on whole seconds: the offset of the second ``at`` falls in is the
        # offset at ``at``, without datetime's rounding to microseconds at the edge.
        offset = datetime.fromtimestamp(math.floor(at), self._zone).utcoffset()
        assert offset is not None  # a ZoneInfo always answers
        return int(offset.total_seconds())

    def _open_on_wall(self, wall: float) -> bool:
        """Whether the window is open when the wall clock reads ``wall`` (seconds since the
        local epoch; only the time of day counts)."""
        of_day = wall - math.floor(wall / DAY_S) * DAY_S
        if self.overnight:
            return of_day >= self._start_s or of_day < self._end_s
        return self._start_s <= of_day < self._end_s

    def _next_change(self, at: float, *, want_open: bool) -> float:
        boundary = self._start_s if want_open else self._end_s
        t = at
        for _ in range(_MAX_STEPS):
            offset = self._offset(t)
            if self._open_on_wall(t + offset) == want_open:
                return t
            # With this offset, the wall clock next reads ``boundary`` at ``candidate``: it is
            # not ``t`` itself (the window would already be as wanted), so strictly later.
            wall = t + offset
            day = math.floor(wall / DAY_S) * DAY_S
            crossing = day + boundary if day + boundary > wall else day + DAY_S + boundary
            candidate = crossing - offset
            transition = self._transition(t, candidate, offset)
            if transition is None:
                return float(candidate)
            t = float(transition)  # the offset changed first: look again from there
        raise AssertionError(f"no change of {self.describe()} found from {at}")  # pragma: no cover

    def _transition(self, after: float, until: int, offset: int) -> int | None:
        """The first whole second in (``after``, ``until``] whose offset is not ``offset``, or
        None when the offset holds all the way."""
        lo = math.floor(after)
        while lo < until:
            hi = min(lo + _SCAN_S, until)
            if self._offset(hi) != offset:
                # offset(lo) == offset, offset(hi) != offset: bisect to the second it changes.
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self._offset(mid) == offset:
                        lo = mid
                    else:
                        hi = mid
                return hi
            lo = hi
        return None
