"""Campaign bench (issue 11's goals), side by side with the per-message producer loop.

    python -m nusaworker.bench.campaign_bench [--rows 100000] [--loop-rows 10000]
        [--big-rows 1000000] [--drain-rows 20000] [--drain-seconds 180 | --full]

Run by ``make bench``. One Redis (the local one, db 14, else a private ``redis-server``), every
key under ``nwbench:cmp:<hex>:`` and deleted after; three parts:

1. **Acceptance** (:func:`.campaign_accept.acceptance`): ``--rows`` recipients in a generated
   CSV (``destination,name``, template ``Hi {name}``) accepted by ``Campaigns.create`` with no
   dispatcher running (scheduled a year ahead: read, validate, normalise, suppression check,
   record — nothing sent), then the producer loop (``send_whatsapp`` per row, priority
   ``bulk``) on the first ``--loop-rows`` rows of the same file against the same Redis under a
   fresh prefix. The loop runs on that sample only and its rate is extrapolated to every row
   (it is flat: one Lua script and one broker write per row). Goals: ≥ 10,000 recipients/s
   and ≥ 5 times the loop.
2. **A 1,000,000-row CSV** (:func:`.campaign_accept.million`; mixed spellings, ~1 % not
   numbers, ~1 % repeats) accepted in a child process whose peak RSS (``VmHWM``) is the
   figure (goal ≤ 200 MB), and the Redis memory per pending recipient, all-in: ``MEMORY
   USAGE`` of every key the acceptance wrote (the campaign's keys — ``CampaignStore.memory``
   — its index entry, the dispatcher's set, the events stream) over the accepted rows (goal
   ≤ 500 bytes). Beside it, for comparison, the bytes of one ledger record made by a real
   dispatcher tick, i.e. what a row costs once it is handed out
   (:func:`.campaign_accept.dispatched_record`).
3. **Drain with OTPs alongside** (:mod:`.campaign_drain`): a ``--drain-rows`` campaign through
   a fleet with default settings (a plain ``celery -A nusaworker worker``, ``celery beat``, the
   callback receiver) against the sandbox (50 ms rule, 150 ± 50 ms answers), an OTP SMS every
   ``--otp-every`` seconds. Draining 20,000 at 20/s takes ~17 minutes, so by default the
   steady rate is measured over a bounded span (``--drain-seconds``, 180) after a short warm-up
   and the campaign is then cancelled; ``--full`` drains it all (the JSON says which). Goals:
   the account's hits/s while the campaign drains ≥ 0.97 of 20/s, OTP p99 enqueue → provider
   ≤ 100 ms, 0 rule violations, and a broker queue that holds the campaign's few messages in
   flight (``NUSAWORKER_CAMPAIGN_IN_FLIGHT``, 6), not the campaign. The hits/s goal counts
   the OTPs' hits with the campaign's: they share the account, and at one OTP every 2 s the
   campaign alone can reach at most 19.5/s = 0.975 of the rule, at the goal's very edge (its
   own rate is reported beside: ``campaign_hits_per_s``).

``--rows 0``, ``--big-rows 0`` or ``--drain-rows 0`` leaves a part out. ``--layout split``
drains through the deployment the Makefile's ``worker-otp``, ``worker`` and ``worker-tracking``
targets start (OTPs on a worker of their own) instead of the one plain worker. Prints the
figures and a table of the goals, writes ``bench-results/campaign-<UTC time>.json``; the exit
status is 0 whenever the run completed, met or not.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nusaworker.bench import campaign_accept, campaign_drain
from nusaworker.bench.report import get
from nusaworker.bench.rig import RULE_PER_S
from nusaworker.testing.redis_server import delete_prefix, redis_url_or_private

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

GOAL_ACCEPT_PER_S = 10_000.0
GOAL_ACCEPT_OVER_LOOP = 5.0
GOAL_PEAK_RSS_MB = 200.0
GOAL_BYTES_PER_RECIPIENT = 500.0
GOAL_RATE_FRACTION = 0.97
GOAL_OTP_P99_MS = 100.0


def run(
    *,
    rows: int = 100_000,
    loop_rows: int = 10_000,
    big_rows: int = 1_000_000,
    drain_rows: int = 20_000,
    drain_s: float = 180.0,
    full: bool = False,
    otp_every_s: float = 2.0,
    layout: str = "plain",
    redis_url: str = DEFAULT_REDIS_URL,
) -> dict[str, Any]:
    """Every part of the bench; the results document (module docstring)."""
    started = time.monotonic()
    run_prefix = f"nwbench:cmp:{uuid.uuid4().hex[:8]}:"
    workdir = Path(tempfile.mkdtemp(prefix="nusaworker-cmpbench-"))
    results: dict[str, Any] = {}
    with redis_url_or_private(redis_url) as url:
        try:
            if rows:
                path = workdir / "acceptance.csv"
                campaign_accept.write_rows(path, rows)
                results["acceptance"] = campaign_accept.acceptance(
                    url, run_prefix, path, loop_rows=min(loop_rows, rows)
                )
                path.unlink()
            if big_rows:
                results["million"] = campaign_accept.million(
                    url, run_prefix, workdir, rows=big_rows
                )
            results["dispatched_record"] = campaign_accept.dispatched_record(url, run_prefix)
            if drain_rows:
                results["drain"] = campaign_drain.run(
                    url,
                    run_prefix,
                    rows=drain_rows,
                    drain_s=drain_s,
                    full=full,
                    otp_every_s=otp_every_s,
                    layout=layout,
                )
        finally:
            delete_prefix(url, run_prefix)
            shutil.rmtree(workdir, ignore_errors=True)
    loop = get(results, "acceptance", "producer_loop") or {}
    if loop.get("recipients_per_s"):
        # The loop ran on a sample: its time for every row, at the rate it kept.
        loop["extrapolated_seconds_for_all_rows"] = round(rows / loop["recipients_per_s"], 1)
        loop["sampled"] = loop.get("rows", 0) < rows
    return {
        "bench": "campaign",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(time.monotonic() - started, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "parameters": {
            "rows": rows,
            "loop_rows": min(loop_rows, rows),
            "big_rows": big_rows,
            "drain_rows": drain_rows,
            "drain_seconds": None if full else drain_s,
            "full_drain": full,
            "otp_every_s": otp_every_s,
            "layout": layout,
            "template": campaign_accept.TEMPLATE,
            # Every key the run wrote was under it, and is deleted.
            "key_prefix": run_prefix,
        },
        "results": results,
        "goals": goals(results),
    }


def goals(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the parts that ran: its figure and whether it was met (pure)."""
    out: list[dict[str, Any]] = []

    def goal(name: str, value: Any, met: bool) -> None:
        out.append({"goal": name, "value": value, "met": bool(met)})

    rate = get(results, "acceptance", "campaign", "recipients_per_s")
    ratio = get(results, "acceptance", "ratio")
    if rate is not None:
        goal(
            f"acceptance >= {GOAL_ACCEPT_PER_S:,.0f} recipients/s", rate, rate >= GOAL_ACCEPT_PER_S
        )
        goal(
            f"acceptance >= {GOAL_ACCEPT_OVER_LOOP:g}x the producer loop",
            ratio,
            ratio is not None and ratio >= GOAL_ACCEPT_OVER_LOOP,
        )
    rss = get(results, "million", "peak_rss_mb")
    per_row = get(results, "million", "redis_bytes_per_recipient")
    if "million" in results:
        rows = get(results, "million", "rows")
        goal(
            f"{rows:,} rows accepted, peak RSS <= {GOAL_PEAK_RSS_MB:.0f} MB",
            rss,
            rss is not None and rss <= GOAL_PEAK_RSS_MB,
        )
        goal(
            f"Redis bytes per pending recipient <= {GOAL_BYTES_PER_RECIPIENT:.0f}",
            per_row,
            per_row is not None and per_row <= GOAL_BYTES_PER_RECIPIENT,
        )
    drain = results.get("drain")
    if drain is not None:
        fraction = drain.get("account_rate_fraction")
        goal(
            f"drain: account hits/s (campaign + OTPs) >= {GOAL_RATE_FRACTION} x {RULE_PER_S:g}/s",
            fraction,
            fraction is not None and fraction >= GOAL_RATE_FRACTION,
        )
        p99 = get(drain, "otp_latency", "p99_ms")
        exact = bool(get(drain, "otp_latency", "p99_exact"))
        goal(
            f"OTP p99 enqueue -> provider <= {GOAL_OTP_P99_MS:.0f} ms",
            p99,
            p99 is not None and exact and p99 <= GOAL_OTP_P99_MS,
        )
        goal("0 rule violations", drain.get("violations"), drain.get("violations") == 0)
        queued = get(drain, "window", "broker_queue_max")
        aimed = get(drain, "window", "aimed")
        goal(
            f"broker holds the window (max queue <= {aimed}), not the campaign",
            queued,
            queued is not None and aimed is not None and queued <= aimed,
        )
    return out


def render(report: Mapping[str, Any]) -> str:
    """The goals as a table, and the figures they come from (pure)."""
    lines = [
        f"campaign bench — {report.get('created_utc')}, {report.get('duration_s')} s",
        "",
        "| goal | measured | verdict |",
        "|---|--:|---|",
    ]
    for g in report.get("goals", []):
        lines.append(f"| {g['goal']} | {g['value']} | {'met' if g['met'] else 'NOT MET'} |")
    met = sum(1 for g in report.get("goals", []) if g["met"])
    lines += ["", *figure_lines(report.get("results", {}))]
    lines += [f"goals met: {met} of {len(report.get('goals', []))}"]
    return "\n".join(lines) + "\n"


def figure_lines(results: Mapping[str, Any]) -> list[str]:
    """The figures behind the goals, one line per part that ran (pure)."""
    lines = []
    campaign = get(results, "acceptance", "campaign") or {}
    loop = get(results, "acceptance", "producer_loop") or {}
    if campaign:
        lines.append(
            f"acceptance: {campaign.get('rows')} rows in {campaign.get('seconds')} s = "
            f"{campaign.get('recipients_per_s')}/s; producer loop {loop.get('rows')} rows in "
            f"{loop.get('seconds')} s = {loop.get('recipients_per_s')}/s (sample, extrapolated: "
            f"{loop.get('extrapolated_seconds_for_all_rows')} s for every row); "
            f"ratio {get(results, 'acceptance', 'ratio')}x; Redis bytes per pending row: "
            f"campaign {campaign.get('redis_bytes_per_recipient')}, "
            f"loop {loop.get('redis_bytes_per_message')}"
        )
    big = results.get("million")
    if big:
        lines.append(
            f"large CSV: {big.get('rows')} rows ({big.get('accepted')} accepted) in "
            f"{big.get('seconds')} s = {big.get('recipients_per_s')}/s, peak RSS "
            f"{big.get('peak_rss_mb')} MB ({big.get('rss_before_accept_mb')} before the first "
            f"row), {big.get('redis_bytes_per_recipient')} Redis bytes per row all-in "
            f"(texts of {big.get('mean_text_chars')} chars)"
        )
    record = results.get("dispatched_record")
    if record:
        lines.append(
            f"a dispatched row: ledger record {record.get('record_bytes_mean')} bytes "
            f"({record.get('record_encoding')}), {record.get('bytes_per_dispatched_all')} bytes "
            "all-in while it waits on the broker"
        )
    drain = results.get("drain")
    if drain:
        lat, window = drain.get("otp_latency") or {}, drain.get("window") or {}
        kind = "whole campaign" if drain.get("full") else "bounded span, then cancelled"
        lines.append(
            f"drain ({drain.get('layout')} fleet, {kind}): {drain.get('span_s')} s, "
            f"campaign {drain.get('campaign_hits_per_s')} hits/s, "
            f"account {drain.get('account_hits_per_s')} hits/s, OTP p50/p99 "
            f"{lat.get('p50_ms')}/{lat.get('p99_ms')} ms ({lat.get('arrived')} of "
            f"{lat.get('count')}), violations {drain.get('violations')}, broker queue max "
            f"{window.get('broker_queue_max')} (aimed {window.get('aimed')})"
        )
    return [*lines, ""] if lines else []


def write(report: Mapping[str, Any], out_dir: Path) -> Path:
    """``campaign-<UTC timestamp>.json`` in ``out_dir``; its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out_dir / f"campaign-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nusaworker.bench.campaign_bench``: run once, print and save the figures."""
    parser = argparse.ArgumentParser(
        prog="nusaworker.bench.campaign_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=100_000, help="acceptance recipients")
    parser.add_argument("--loop-rows", type=int, default=10_000, help="producer loop sample")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="0: no large CSV")
    parser.add_argument("--drain-rows", type=int, default=20_000, help="0: no fleet drain")
    parser.add_argument("--drain-seconds", type=float, default=180.0)
    parser.add_argument("--full", action="store_true", help="drain the whole campaign")
    parser.add_argument("--otp-every", type=float, default=2.0, help="seconds between OTPs")
    parser.add_argument(
        "--layout",
        choices=sorted(campaign_drain.LAYOUTS),
        default="plain",
        help="the drain's fleet: one plain worker, or the Makefile's otp/bulk/tracking workers",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    report = run(
        rows=args.rows,
        loop_rows=args.loop_rows,
        big_rows=args.big_rows,
        drain_rows=args.drain_rows,
        drain_s=args.drain_seconds,
        full=args.full,
        otp_every_s=args.otp_every,
        layout=args.layout,
        redis_url=args.redis_url,
    )
    print(json.dumps(report, indent=2))
    path = write(report, args.out)
    print()
    print(render(report), end="")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
