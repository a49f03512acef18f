"""The demo's progress view and plain line, from snapshots."""

from __future__ import annotations

import io

from rich.console import Console

from nusaworker.demo.progress import AccountFigures, Snapshot, Watch, line, view


def _snapshot(violations: int = 0, accounts: bool = True) -> Snapshot:
    return Snapshot(
        elapsed=75.4,
        phase="sending to the provider",
        states={"accepted": 30, "sent": 250, "read": 40},
        total=320,
        final=40,
        rule_per_s=20.0,
        accounts=(AccountFigures("main", 290, 19.87, violations, 50.4),) if accounts else (),
    )


def _render(snapshot: Snapshot) -> str:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    console.print(view(snapshot))
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def test_line_shows_states_rate_against_the_rule_and_elapsed() -> None:
    text = line(_snapshot())
    assert text.startswith("[01:15] sending to the provider | final 40/320 (12%) | ")
    # States in the order of a message's way, not the order given.
    assert "accepted 30, sent 250, read 40" in text
    assert text.endswith("main 19.9 hits/s (rule 20/s), 0 violations")


def test_line_before_any_hit_says_so() -> None:
    assert line(_snapshot(accounts=False)).endswith("| no provider hits yet")


def test_view_shows_the_same_figures() -> None:
    text = _render(_snapshot(violations=2))
    assert "sending to the provider" in text
    assert "elapsed 01:15" in text
    assert "40/320  12%" in text
    assert "accepted 30 · sent 250 · read 40" in text
    [row] = [r for r in text.splitlines() if r.strip().startswith("main")]
    assert row.split() == ["main", "290", "19.9", "20/s", "2", "50.4", "ms"]


def test_watch_measures_each_accounts_rate_from_its_hit_counts() -> None:
    hits = iter([100, 130])
    ticks = iter([0.0, 1.0, 3.0])  # started, first reading, second reading
    out = io.StringIO()

    def stats() -> dict[str, object]:
        return {"accounts": {"main": {"hits": next(hits), "violations": 0, "min_gap_ms": 50.1}}}

    with Watch(
        stats, total=200, final_states={"read"}, rule_per_s=20.0, out=out, clock=lambda: next(ticks)
    ) as watch:
        first = watch.snapshot("sending", {"read": 10})
        second = watch.snapshot("sending", {"read": 20})
    assert first.accounts[0].rate is None  # one reading: no rate yet
    [acct] = second.accounts
    assert acct.hits == 130
    assert acct.rate == 15.0  # 30 hits in 2 s
    assert second.elapsed == 3.0
    assert (second.final, second.total) == (20, 200)
    assert out.getvalue() == ""  # not a terminal and nothing shown: no live view was drawn
