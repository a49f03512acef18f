"""The ``nusaworker campaign …`` commands (parsed and wired in :mod:`nusaworker.cli`).

Each takes a :class:`~.api.Campaigns` and the stream to print to, and returns the exit status::

    0   done (``--follow``: the campaign finished)
    1   no such campaign, an operation its state refuses, or (``--follow``) it was cancelled
    2   bad input (the CLI's: argparse, the spec, the file)      — raised, mapped by the CLI
    3   the pre-flight refused it (the balance is short)          — raised, mapped by the CLI
    130 Ctrl-C while following: following stops, the campaign goes on

``--follow`` reads the campaign twice a second: on a terminal it redraws a live view
(:mod:`.live`); elsewhere (a pipe, a CI log) it prints one plain line every ``every`` seconds
and at each change of state, and the last one when the campaign is final.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from nusaworker.campaigns.api import Campaigns, ReportRow, Rows
from nusaworker.campaigns.progress import (
    Meter,
    accepted_lines,
    final_lines,
    list_lines,
    progress_line,
    state_text,
    status_lines,
)
from nusaworker.campaigns.spec import CampaignSpec, CampaignState
from nusaworker.campaigns.store import CampaignInfo

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130  # the shell's convention for a command ended by SIGINT

#: How often ``--follow`` reads the campaign (seconds): two readings a second make the rate.
POLL_S = 0.5
#: How often ``--follow`` prints a plain line where there is no terminal (seconds).
PLAIN_EVERY_S = 5.0


def as_json(info: CampaignInfo, meter: Meter | None = None) -> dict[str, Any]:
    """What ``--json`` prints of a campaign (``rate``/``eta_s`` while following)."""
    data = {**info.as_dict(), "done": info.done}
    if meter is not None:
        data["rate"] = meter.rate
        data["eta_s"] = meter.eta(info)
    return data


def run(
    campaigns: Campaigns,
    spec: CampaignSpec,
    rows: Rows,
    out: TextIO,
    *,
    force: bool = False,
    json_out: bool = False,
    follow_it: bool = False,
    live: bool = False,
    every: float = PLAIN_EVERY_S,
) -> int:
    """Create a campaign and say what was accepted; with ``follow_it``, follow it to its end."""
    info = campaigns.create(spec, rows, force=force)
    if json_out:
        print(json.dumps(as_json(info), sort_keys=True), file=out, flush=True)
    else:
        for line in accepted_lines(info, time.time()):
            print(line, file=out)
        print(
            f"pause: nusaworker campaign pause {info.id} · cancel: nusaworker campaign cancel "
            f"{info.id}" + ("" if follow_it else f" · follow: … status {info.id} --follow"),
            file=out,
            flush=True,
        )
    if not follow_it:
        return EXIT_OK
    return follow(campaigns, info.id, out, live=live, json_out=json_out, every=every)


def status(campaigns: Campaigns, campaign_id: str, out: TextIO, *, json_out: bool = False) -> int:
    info = campaigns.status(campaign_id)
    if json_out:
        print(json.dumps(as_json(info), indent=2, sort_keys=True), file=out)
    else:
        for line in status_lines(info, time.time()):
            print(line, file=out)
    return EXIT_OK


def listing(campaigns: Campaigns, out: TextIO, *, json_out: bool = False, limit: int = 50) -> int:
    infos = campaigns.list(limit)
    if json_out:
        print(json.dumps([as_json(i) for i in infos], indent=2, sort_keys=True), file=out)
    else:
        for line in list_lines(infos):
            print(line, file=out)
    return EXIT_OK


_CONTROLS = {
    "pause": "paused: nothing more is claimed, what is queued waits (resume: nusaworker "
    "campaign resume {id})",
    "resume": "resumed: what it had queued is queued again and the dispatcher refills it",
    "cancel": "cancelled: no row is handed out any more and what was not claimed is aborted; "
    "messages already being sent end as they end",
}


def control(campaigns: Campaigns, action: str, campaign_id: str, out: TextIO) -> int:
    """``pause``, ``resume`` or ``cancel``; a state that refuses it raises CampaignError."""
    info: CampaignInfo = getattr(campaigns, action)(campaign_id)
    print(f"campaign {info.id} {_CONTROLS[action].format(id=info.id)}", file=out)
    print(
        f"  now {state_text(info, time.time())}; handed out {info.cursor}/{info.rows}, "
        f"done {info.done}",
        file=out,
    )
    return EXIT_OK


def report(campaigns: Campaigns, campaign_id: str, out: TextIO, *, fmt: str = "csv") -> int:
    """Every source row's fate, streamed: CSV with a header line, or JSON Lines."""
    campaigns.status(campaign_id)  # an unknown id fails before anything is written
    rows = campaigns.report(campaign_id)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ReportRow.FIELDS)
        for row in rows:
            writer.writerow([getattr(row, name) for name in ReportRow.FIELDS])
    else:
        for row in rows:
            out.write(json.dumps(row.as_dict(), separators=(",", ":")) + "\n")
    out.flush()
    return EXIT_OK


def follow(
    campaigns: Campaigns,
    campaign_id: str,
    out: TextIO,
    *,
    live: bool,
    json_out: bool = False,
    every: float = PLAIN_EVERY_S,
    poll: float = POLL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Follow a campaign until it is final: 0 finished, 1 cancelled, 130 on Ctrl-C."""
    meter = Meter()
    try:
        if live and not json_out:
            info = _follow_live(campaigns, campaign_id, out, meter, poll, sleep)
        else:
            info = _follow_plain(campaigns, campaign_id, out, meter, json_out, every, poll, sleep)
    except KeyboardInterrupt:
        now = campaigns.status(campaign_id)
        print(
            f"\nstopped following; campaign {campaign_id} is {now.state.value} and goes on. "
            f"pause: nusaworker campaign pause {campaign_id} · cancel: nusaworker campaign "
            f"cancel {campaign_id}",
            file=out,
            flush=True,
        )
        return EXIT_INTERRUPTED
    if not json_out:
        for line in final_lines(info):
            print(line, file=out)
    out.flush()
    return EXIT_OK if info.state is CampaignState.FINISHED else EXIT_FAILED


def _follow_plain(
    campaigns: Campaigns,
    campaign_id: str,
    out: TextIO,
    meter: Meter,
    json_out: bool,
    every: float,
    poll: float,
    sleep: Callable[[float], None],
) -> CampaignInfo:
    printed_at: float | None = None
    printed_state: CampaignState | None = None
    while True:
        info = campaigns.status(campaign_id)
        at = time.monotonic()
        meter.add(at, info)
        final = info.state.is_final
        if final or printed_at is None or at - printed_at >= every or info.state != printed_state:
            if json_out:
                line = json.dumps(as_json(info, meter), sort_keys=True)
            else:
                line = progress_line(info, meter, time.time())
            print(line, file=out, flush=True)
            printed_at, printed_state = at, info.state
        if final:
            return info
        sleep(poll)


def _follow_live(
    campaigns: Campaigns,
    campaign_id: str,
    out: TextIO,
    meter: Meter,
    poll: float,
    sleep: Callable[[float], None],
) -> CampaignInfo:
    from rich.console import Console
    from rich.live import Live

    from nusaworker.campaigns.live import view

    info = campaigns.status(campaign_id)
    meter.add(time.monotonic(), info)
    console = Console(file=out)
    with Live(view(info, meter, time.time()), console=console, refresh_per_second=4) as screen:
        while not info.state.is_final:
            sleep(poll)
            info = campaigns.status(campaign_id)
            meter.add(time.monotonic(), info)
            screen.update(view(info, meter, time.time()))
    return info
