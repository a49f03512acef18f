"""How far a campaign is, in words: the rate and ETA from successive readings, and the lines
``nusaworker campaign …`` prints. Pure: readings in, text out (the command reads Redis and
prints; :mod:`.live` draws the same figures as a live view).

The rate is measured, not configured: the count of messages *done* (past the send, whatever
came of them) over the last ~10 s of readings, so a campaign that shares its account, waits for
phone checks or is throttled by the provider shows what it actually does. The ETA is the rows
not done yet at that rate; a campaign that does not send (paused, waiting for its window,
scheduled) has none.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nusaworker.campaigns.spec import CampaignState
from nusaworker.campaigns.store import CampaignInfo
from nusaworker.ledger import MessageState

#: Readings older than this (and the one just before them) no longer count in the rate.
RATE_WINDOW_S = 10.0

# The message states in the order of a message's way, for every count shown.
STATE_ORDER = tuple(s.value for s in MessageState)


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of a campaign: when (a monotonic clock, seconds), rows handed out, messages
    done."""

    at: float
    handed: int
    done: int


class Meter:
    """The rate of a campaign from its successive readings, over the last ``window_s``."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self.readings: deque[Reading] = deque()

    def add(self, at: float, info: CampaignInfo) -> Reading:
        """Take a reading of ``info`` made at ``at`` (monotonic seconds)."""
        return self.add_reading(Reading(at, info.cursor, info.done))

    def add_reading(self, reading: Reading) -> Reading:
        if self.readings and reading.at <= self.readings[-1].at:
            self.readings[-1] = reading  # the clock did not move: the newer counts win
        else:
            self.readings.append(reading)
        # Keep one reading at or before the window's start, so the span is the whole window.
        cut = reading.at - self.window_s
        while len(self.readings) > 2 and self.readings[1].at <= cut:
            self.readings.popleft()
        return reading

    @property
    def rate(self) -> float | None:
        """Messages done per second over the window; ``None`` before two readings."""
        if len(self.readings) < 2:
            return None
        first, last = self.readings[0], self.readings[-1]
        span = last.at - first.at
        return max(0.0, (last.done - first.done) / span) if span > 0 else None

    def eta(self, info: CampaignInfo) -> float | None:
        """Seconds until every row is done at the current rate; ``None`` when not sending (or
        not measured yet), 0 when nothing is left."""
        left = max(0, info.rows - info.done)
        if info.state is CampaignState.FINISHED or left == 0:
            return 0.0
        if info.state is not CampaignState.RUNNING:
            return None
        rate = self.rate
        return left / rate if rate else None


# -- words -------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """``"45s"``, ``"3m05s"``, ``"2h03m"``; ``"—"`` for unknown."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def clock(seconds: float) -> str:
    """Elapsed time as ``MM:SS`` (``H:MM:SS`` past an hour)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def when(epoch: float | None) -> str:
    """An instant as ``2025-01-02 03:04:05 UTC`` (``-`` for none)."""
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(part: int, whole: int) -> int:
    """Whole percent, 100 for an empty whole (nothing to do is all done)."""
    return 100 if whole <= 0 else int(100 * part / whole)


def counts(messages: Mapping[str, int], sep: str = ", ") -> str:
    """``"sending 2, sent 20, delivered 15"`` in the order of a message's way; ``"none"``."""
    order = {s: i for i, s in enumerate(STATE_ORDER)}
    shown = [(s, n) for s, n in messages.items() if n]
    shown.sort(key=lambda item: (order.get(item[0], len(order)), item[0]))
    return sep.join(f"{s} {n}" for s, n in shown) or "none"


def skipped(problems: Mapping[str, int]) -> str:
    """``"3 (duplicate 1, invalid 2)"``; ``"0"``."""
    total = sum(problems.values())
    if not total:
        return "0"
    return f"{total} ({', '.join(f'{p} {n}' for p, n in sorted(problems.items()))})"


def cost(wallets: Mapping[str, int]) -> str:
    """``"wa 57, sms 3"``; ``"none"`` (a free channel, or nothing accepted)."""
    return ", ".join(f"{w} {n}" for w, n in sorted(wallets.items()) if n) or "none"


def state_text(info: CampaignInfo, now: float) -> str:
    """The campaign's state as an operator reads it."""
    state, spec = info.state, info.spec
    if state is CampaignState.SCHEDULED and spec.start_at is not None:
        return f"scheduled: starts {when(spec.start_at)} (in {duration(spec.start_at - now)})"
    if state is CampaignState.WAITING:
        return f"waiting for its window ({spec.window})" if spec.window else "waiting"
    if state is CampaignState.ACCEPTING:
        return "accepting rows"
    if state is CampaignState.CANCELLED and info.reason:
        return f"cancelled: {info.reason}"
    return state.value


def rate_text(meter: Meter) -> str:
    rate = meter.rate
    return "— msg/s" if rate is None else f"{rate:.1f} msg/s"


def progress_line(info: CampaignInfo, meter: Meter, now: float) -> str:
    """One plain line of ``--follow`` where there is no terminal (CI logs, pipes)::

    [00:12] running | handed out 40/60 | done 35/60 (58%) | 19.8 msg/s | ETA 1s | …
    """
    since = info.started_at or info.created_at
    return " | ".join(
        (
            f"[{clock(now - since)}] {state_text(info, now)}",
            f"handed out {info.cursor}/{info.rows}",
            f"done {info.done}/{info.rows} ({percent(info.done, info.rows)}%)",
            rate_text(meter),
            f"ETA {duration(meter.eta(info))}",
            counts(info.messages),
        )
    )


def final_lines(info: CampaignInfo) -> list[str]:
    """What ``--follow`` says once the campaign is final."""
    lines = [
        f"campaign {info.id} {info.state.value}: {info.rows} rows: {counts(info.messages)}; "
        f"skipped {skipped(info.skipped)}",
    ]
    waiting = sum(info.messages.get(s, 0) for s in (MessageState.SENT, MessageState.UNKNOWN))
    if waiting:
        lines.append(
            f"{waiting} sent messages still wait for their delivery reports: campaign status "
            "and report show them as they come"
        )
    lines.append(f"per-row report: nusaworker campaign report {info.id}")
    return lines


def accepted_lines(info: CampaignInfo, now: float) -> list[str]:
    """What ``campaign run`` says once the rows are recorded."""
    return [
        f'campaign {info.id} "{info.spec.name}" on {info.spec.channel}: {state_text(info, now)}',
        f"  rows accepted  {info.rows}",
        f"  skipped        {skipped(info.skipped)}",
        f"  cost           {cost(info.cost)}",
    ]


def status_lines(info: CampaignInfo, now: float) -> list[str]:
    """``campaign status``: the campaign at a glance."""
    spec = info.spec
    how = [f"{spec.rate_share:.0%} of the account's rate", f"priority {spec.priority}"]
    if spec.window:
        how.append(f"window {spec.window}")
    if spec.validity_s:
        how.append(f"validity {spec.validity_s:g} s")
    lines = [
        f'campaign {info.id} "{spec.name}" on {spec.channel}: {state_text(info, now)}',
        f"  rows       {info.rows} accepted, skipped {skipped(info.skipped)}",
        f"  progress   handed out {info.cursor}/{info.rows} (queued {info.queued}), "
        f"done {info.done}/{info.rows} ({percent(info.done, info.rows)}%)",
        f"  messages   {counts(info.messages)}",
        f"  cost       {cost(info.cost)}",
        f"  sending    {', '.join(how)}",
        f"  created    {when(info.created_at)}; started {when(info.started_at)}; "
        f"ended {when(info.ended_at)}",
    ]
    if info.reason and info.state is not CampaignState.CANCELLED:
        lines.append(f"  reason     {info.reason}")
    return lines


def list_lines(infos: Iterable[CampaignInfo]) -> list[str]:
    """``campaign list``: one line per campaign, newest first."""
    lines = [
        f"{'id':<26}  {'state':<10} {'channel':<7} {'rows':>7} {'done':>7}  {'created':<23}  name"
    ]
    for info in infos:
        lines.append(
            f"{info.id:<26}  {info.state.value:<10} {info.spec.channel:<7} {info.rows:>7} "
            f"{info.done:>7}  {when(info.created_at)}  {info.spec.name}"
        )
    return lines
