"""The live view of ``nusaworker campaign run|status --follow`` on a terminal (rich).

:func:`view` draws one reading — two bars (rows handed out to the broker, messages done), the
counts per message state, the measured rate, the ETA and the campaign's state — and the
command redraws it a few times a second inside a :class:`rich.live.Live`. Pure: a reading in, a
renderable out, so a test renders it to a string.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from nusaworker.campaigns.progress import (
    Meter,
    clock,
    counts,
    duration,
    percent,
    rate_text,
    skipped,
    state_text,
)
from nusaworker.campaigns.spec import CampaignState
from nusaworker.campaigns.store import CampaignInfo

# The colour of the state word: green sends, yellow holds, red ended early.
_STYLE = {
    CampaignState.RUNNING: "green",
    CampaignState.FINISHED: "bold green",
    CampaignState.CANCELLED: "red",
}


def view(info: CampaignInfo, meter: Meter, now: float) -> RenderableType:
    """The campaign at ``now`` (epoch seconds), with ``meter``'s rate and ETA."""
    head = Text.assemble(
        ("campaign ", "dim"),
        (info.id, "bold"),
        f' "{info.spec.name}" on {info.spec.channel}: ',
        (state_text(info, now), _STYLE.get(info.state, "yellow")),
    )
    bars = Table.grid(padding=(0, 1))
    bars.add_column(width=10)
    bars.add_column(width=40)
    bars.add_column(justify="right")
    for label, part in (("handed out", info.cursor), ("done", info.done)):
        bars.add_row(
            label,
            ProgressBar(total=max(info.rows, 1), completed=part if info.rows else 1, width=40),
            f"{part}/{info.rows} {percent(part, info.rows):>3}%",
        )
    since = info.started_at or info.created_at
    figures = Text(
        f"{rate_text(meter)} (last {meter.window_s:g} s) · ETA {duration(meter.eta(info))}"
        f" · elapsed {clock(now - since)} · queued {info.queued}"
    )
    states = Text(f"messages: {counts(info.messages, sep=' · ')}")
    rows = Text(f"skipped rows: {skipped(info.skipped)}", style="dim")
    parts: list[RenderableType] = [head, bars, figures, states, rows]
    if not info.state.is_final:
        parts.append(Text("Ctrl-C stops following; the campaign goes on.", style="dim"))
    return Group(*parts)
