"""What ``make demo`` shows while it runs: the messages by state, each provider account's hits
per second against the rate rule, the elapsed time.

On a terminal a live view (rich), redrawn a few times a second in the style of
``nusaworker.campaigns.live``; elsewhere (CI logs, pipes, a test's captured output) a plain line
every few seconds. :func:`view` and :func:`line` are pure — a :class:`Snapshot` in, a renderable
or a line out — so a test renders them to strings; :class:`Watch` takes the readings (the
ledger's states, the sandbox's counters) and shows them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from nusaworker.campaigns.progress import Meter, Reading, clock, counts, percent

#: A plain line at most this often (seconds), and whenever the phase changes.
PLAIN_EVERY_S = 2.0
#: The hits per second shown are those of the last few seconds: the rate now, not the average.
RATE_WINDOW_S = 3.0


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """One provider account as the sandbox counted it."""

    name: str
    hits: int
    #: Hits per second over the meter's window; ``None`` before two readings.
    rate: float | None
    violations: int
    min_gap_ms: float | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The demo at one moment."""

    elapsed: float
    phase: str
    states: Mapping[str, int]
    total: int
    final: int
    #: The provider's rule in hits per second per account.
    rule_per_s: float
    accounts: tuple[AccountFigures, ...] = ()


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1f}"


def view(snap: Snapshot) -> RenderableType:
    """The live view of ``snap``."""
    head = Text.assemble(
        ("demo ", "dim"), (snap.phase, "bold"), f" · elapsed {clock(snap.elapsed)}"
    )
    bar = Table.grid(padding=(0, 1))
    bar.add_column(width=10)
    bar.add_column(width=40)
    bar.add_column(justify="right")
    bar.add_row(
        "final",
        ProgressBar(total=max(snap.total, 1), completed=snap.final, width=40),
        f"{snap.final}/{snap.total} {percent(snap.final, snap.total):>3}%",
    )
    states = Text(f"messages: {counts(snap.states, sep=' · ')}")
    accounts = Table(box=None, padding=(0, 2), header_style="dim")
    for column in ("account", "hits", "hits/s", "rule", "violations", "min gap"):
        accounts.add_column(column, justify="left" if column == "account" else "right")
    for acct in snap.accounts:
        ok = acct.violations == 0
        gap = "—" if acct.min_gap_ms is None else f"{acct.min_gap_ms:.1f} ms"
        accounts.add_row(
            acct.name,
            str(acct.hits),
            Text(_rate(acct.rate), style="green" if ok else "red"),
            f"{snap.rule_per_s:g}/s",
            Text(str(acct.violations), style="green" if ok else "bold red"),
            gap,
        )
    parts: list[RenderableType] = [head, bar, states]
    parts.append(accounts if snap.accounts else Text("no provider hits yet", style="dim"))
    return Group(*parts)


def line(snap: Snapshot) -> str:
    """One plain line of ``snap``::

    [00:12] waiting for the provider | final 40/320 (12%) | accepted 30, sent 250, … | main 19.9
    hits/s (rule 20/s), 0 violations
    """
    accounts = "; ".join(
        f"{a.name} {_rate(a.rate)} hits/s (rule {snap.rule_per_s:g}/s), {a.violations} violations"
        for a in snap.accounts
    )
    return " | ".join(
        (
            f"[{clock(snap.elapsed)}] {snap.phase}",
            f"final {snap.final}/{snap.total} ({percent(snap.final, snap.total)}%)",
            counts(snap.states),
            accounts or "no provider hits yet",
        )
    )


class Watch:
    """Shows the demo's progress from ``show`` calls: live on a terminal, plain lines elsewhere.

    ``stats`` reads the sandbox's counters (``Sandbox.stats``); each account's rate is measured
    from successive readings of its hit count.
    """

    def __init__(
        self,
        stats: Callable[[], Mapping[str, Any]],
        total: int,
        final_states: AbstractSet[str],
        rule_per_s: float,
        *,
        out: TextIO | None = None,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stats = stats
        self._total = total
        self._final_states = final_states
        self._rule = rule_per_s
        self._out = out or sys.stdout
        self._live_wanted = self._out.isatty() if live is None else live
        self._live: Live | None = None
        self._clock = clock
        self.started = clock()
        # A campaign Meter counts "done" per second over a window; here "done" is the hits.
        self._meters: dict[str, Meter] = {}
        self._printed_at: float | None = None
        self._printed_phase: str | None = None

    def __enter__(self) -> Watch:
        if self._live_wanted:
            console = Console(file=self._out)
            self._live = Live(Text("starting …"), console=console, refresh_per_second=4)
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def snapshot(self, phase: str, states: Mapping[str, int]) -> Snapshot:
        """Read the sandbox's counters now and make a snapshot of ``states`` in ``phase``."""
        now = self._clock()
        accounts = []
        for name, tally in sorted(self._stats()["accounts"].items()):
            meter = self._meters.setdefault(name, Meter(RATE_WINDOW_S))
            meter.add_reading(Reading(now, 0, int(tally["hits"])))
            accounts.append(
                AccountFigures(
                    name=name,
                    hits=int(tally["hits"]),
                    rate=meter.rate,
                    violations=int(tally["violations"]),
                    min_gap_ms=tally.get("min_gap_ms"),
                )
            )
        final = sum(n for s, n in states.items() if s in self._final_states)
        return Snapshot(
            elapsed=now - self.started,
            phase=phase,
            states=dict(states),
            total=self._total,
            final=final,
            rule_per_s=self._rule,
            accounts=tuple(accounts),
        )

    def show(self, phase: str, states: Mapping[str, int]) -> None:
        """Show the demo in ``phase`` with ``states`` (message state → count)."""
        snap = self.snapshot(phase, states)
        if self._live is not None:
            self._live.update(view(snap))
            return
        now = self._clock()
        due = self._printed_at is None or now - self._printed_at >= PLAIN_EVERY_S
        if due or phase != self._printed_phase:
            print(line(snap), file=self._out, flush=True)
            self._printed_at, self._printed_phase = now, phase
