"""``nusaworker campaign run|status|list|pause|resume|cancel|report|schedule|unschedule|
schedules``: the arguments, the spec
they make, the pre-flight's balances, and the exit statuses (the commands themselves are
:mod:`nusaworker.campaigns.commands`).

This is the one place where campaigns meet credit: the pre-flight reads the wallets of the
accounts the campaign's channels route to (:class:`nusaworker.credit.commands.RouteWallets`),
and :class:`~nusaworker.campaigns.Campaigns` only sees a callable — the two features never
import each other.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nusaworker.errors import NusaWorkerError

EXIT_USAGE = 2
EXIT_REFUSED = 3


class CampaignUsageError(NusaWorkerError):
    """Raised when a campaign command's arguments do not fit together or name a file that
    cannot be read or written (exit status 2). (``cli.UsageError`` is the same for the other
    commands; this module sits below ``cli`` and cannot import it.)"""

    retryable = False


# A campaign's spec fields and the options that set them, for an error that names the option.
_CAMPAIGN_OPTIONS = {
    "name": "--name",
    "channel": "--channel",
    "template": "--template",
    "start_at": "--start-at",
    "window": "--window",
    "rate_share": "--share",
    "validity_s": "--validity",
    "region": "--region",
    "destination_column": "--destination-column",
}


def _start_at(text: str) -> float:
    """``--start-at``: epoch seconds, or ISO 8601 (without an offset: this machine's time)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ISO 8601 (2025-01-31T09:00+07:00) or epoch seconds, got {text!r}"
        ) from None


def _campaign_spec(args: argparse.Namespace, default_region: str) -> Any:
    from nusaworker.campaigns import CampaignSpec

    if args.template_file is not None:
        try:
            template = Path(args.template_file).read_text(encoding="utf-8").removesuffix("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise CampaignUsageError(
                f"--template-file: cannot read {args.template_file}: {exc}"
            ) from None
    else:
        template = args.template
    fields: dict[str, Any] = {
        "name": args.name or Path(args.file).stem,  # schedule: its name is required
        "channel": args.channel,
        "template": template,
        "start_at": getattr(args, "start_at", None),
        "window": args.window,
        "rate_share": args.share,
        "validity_s": args.validity,
        "include_unsubscribe": True if args.include_unsubscribe else None,
        "destination_column": args.destination_column,
        "region": args.region or default_region,
    }
    return CampaignSpec(**fields)


def _spec_message(exc: ValidationError) -> str:
    """A spec's validation errors on one line, each naming the option that set the field."""
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "input"
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{_CAMPAIGN_OPTIONS.get(field, field)}: {message}")
    return "; ".join(parts)


def run_command(args: argparse.Namespace, rest: list[str]) -> int:
    """``nusaworker campaign …``: the exit status (see the parser's description)."""
    from nusaworker.campaigns import CampaignError, CampaignInputError, CampaignRefused

    try:
        return _dispatch(args)
    except BrokenPipeError:  # `campaign report … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1
    except CampaignUsageError as exc:
        print(f"nusaworker: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        print(f"nusaworker: invalid campaign: {_spec_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except CampaignRefused as exc:
        print(f"nusaworker: {exc}", file=sys.stderr)
        if "unknown" in exc.reason:
            print(
                "nusaworker: a balance shown as unknown could not be read, live or from the "
                "balance watch (see nusaworker balance)",
                file=sys.stderr,
            )
        print(
            f"nusaworker: nothing was sent (campaign {exc.campaign_id} is recorded as "
            "cancelled); run it again with --force to start it anyway",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except CampaignInputError as exc:
        print(f"nusaworker: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CampaignError as exc:
        print(f"nusaworker: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from nusaworker.campaigns import Campaigns
    from nusaworker.campaigns import commands as campaign
    from nusaworker.settings import load_settings

    if getattr(args, "limit", 1) < 1:
        raise CampaignUsageError("--limit starts at 1")
    settings = load_settings()
    if args.action in ("schedule", "unschedule", "schedules"):
        return _recurring(args, settings)
    spec = None
    balances = None
    if args.action == "run":
        # The spec is checked before anything is built or written.
        spec = _campaign_spec(args, settings.default_region)
        if not os.path.isfile(args.file):
            raise CampaignUsageError(f"no such file: {args.file}")
        from nusaworker.credit.commands import RouteWallets

        wallets = RouteWallets(settings)  # a bad route is a ConfigurationError now
        balances = lambda: wallets  # noqa: E731 — read lazily, once per account
    made = Campaigns.from_settings(settings, balances=balances)
    out = sys.stdout
    live = bool(getattr(args, "follow", False)) and out.isatty()
    try:
        if spec is not None:
            return campaign.run(
                made, spec, args.file, out, force=args.force, json_out=args.json,
                follow_it=args.follow, live=live, every=args.every,
            )  # fmt: skip
        if args.action == "status" and args.follow:
            return campaign.follow(
                made, args.id, out, live=live, json_out=args.json, every=args.every
            )
        if args.action == "status":
            return campaign.status(made, args.id, out, json_out=args.json)
        if args.action == "list":
            return campaign.listing(made, out, json_out=args.json, limit=args.limit)
        if args.action == "report":
            if args.output is None:
                return campaign.report(made, args.id, out, fmt=args.format)
            made.status(args.id)  # an unknown id leaves no empty file behind
            try:
                handle = open(args.output, "w", newline="", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise CampaignUsageError(
                    f"-o: cannot write {args.output}: {exc.strerror}"
                ) from None
            with handle:
                return campaign.report(made, args.id, handle, fmt=args.format)
        return campaign.control(made, args.action, args.id, out)
    finally:
        made.store.redis.close()


def _recurring(args: argparse.Namespace, settings: Any) -> int:
    """``schedule`` / ``unschedule`` / ``schedules``: recurring campaigns run by beat."""
    import json

    from nusaworker.campaigns import Campaigns, RecurringCampaign

    made = Campaigns.from_settings(settings)
    out = sys.stdout
    try:
        if args.action == "schedule":
            options = _campaign_spec(args, settings.default_region).model_dump(
                exclude={"name", "start_at"}, exclude_none=True
            )
            if args.force:
                options["force"] = True
            recurring = RecurringCampaign(
                name=args.name,
                cron=args.cron,
                tz=args.tz,
                recipients=args.recipients,
                campaign=options,
            )
            made.schedule(recurring, replace=args.replace)
            nxt = datetime.datetime.fromtimestamp(
                recurring.next_fire(made.store.clock()), datetime.UTC
            )
            print(f"scheduled {recurring.name}: {recurring.cron} ({recurring.tz}); "
                  f"next run {nxt:%Y-%m-%d %H:%M} UTC", file=out)  # fmt: skip
            return 0
        if args.action == "unschedule":
            if not made.unschedule(args.name):
                print(f"nusaworker: no recurring campaign {args.name!r}", file=sys.stderr)
                return 1
            print(f"unscheduled {args.name}", file=out)
            return 0
        now = made.store.clock()
        last = made.recurring.last_runs()
        rows: list[dict[str, Any]] = []
        for recurring in made.recurring.all():
            run = last.get(recurring.name)
            rows.append(
                {
                    "name": recurring.name,
                    "cron": recurring.cron,
                    "tz": recurring.tz,
                    "recipients": recurring.recipients,
                    "enabled": recurring.enabled,
                    "next_run": recurring.next_fire(now),
                    "last_run": None if run is None else json.loads(run.to_json()),
                }
            )
        if args.json:
            print(json.dumps(rows, indent=2), file=out)
            return 0
        for row in rows:
            nxt = datetime.datetime.fromtimestamp(row["next_run"], datetime.UTC)
            last_run = row["last_run"] or {}
            print(f"{row['name']}: {row['cron']} ({row['tz']}) from {row['recipients']}; "
                  f"next {nxt:%Y-%m-%d %H:%M} UTC; last: {last_run.get('outcome', 'none')} "
                  f"{last_run.get('campaign_id') or last_run.get('error') or ''}".rstrip(),
                  file=out)  # fmt: skip
        if not rows:
            print("no recurring campaigns", file=out)
        return 0
    finally:
        made.store.redis.close()


def _add_spec_options(command: Any) -> None:
    """The options that make a campaign's spec (``run`` and ``schedule``)."""
    command.add_argument(
        "--channel", choices=["wa", "sms", "auto"], default="wa",
        help="auto: WhatsApp where the number has it, SMS otherwise (default: wa)",
    )  # fmt: skip
    text = command.add_mutually_exclusive_group(required=True)
    text.add_argument("--template", help="the text, {column} taken from each row")
    text.add_argument("--template-file", metavar="FILE", help="the template, read from FILE")
    command.add_argument(
        "--window", metavar="'HH:MM-HH:MM ZONE'",
        help="daily sending window, e.g. '08:00-20:00 Asia/Jakarta'; outside it, it waits",
    )  # fmt: skip
    command.add_argument(
        "--share", type=float, default=1.0, metavar="0..1",
        help="share of the account's rate it may take (default 1)",
    )  # fmt: skip
    command.add_argument(
        "--validity", type=float, metavar="SECONDS",
        help="a message not sent this long after it is handed out ends expired",
    )  # fmt: skip
    command.add_argument(
        "--region", help="region of numbers without a country code (default: "
        "NUSAWORKER_DEFAULT_REGION, ID)",
    )  # fmt: skip
    command.add_argument("--destination-column", metavar="COLUMN", help="default: the first of "
                         "destination, phone, number, msisdn")  # fmt: skip
    command.add_argument(
        "--include-unsubscribe", action="store_true",
        help="WhatsApp: ask the provider to add its unsubscribe link",
    )  # fmt: skip
    command.add_argument(
        "--force", action="store_true",
        help="start even when the balance does not cover the cost (or cannot be read)",
    )  # fmt: skip


def add_parser(sub: Any) -> None:
    """Add ``campaign`` and its actions to the ``nusaworker`` subcommands ``sub``."""
    campaign = sub.add_parser(
        "campaign",
        help="campaigns: run one from a file, follow it, pause/resume/cancel it, its report",
        description="Exit status: 0 ok; 1 no such campaign, an operation its state refuses, or "
        "(--follow) it ended cancelled; 2 bad input; 3 refused by the pre-flight (balance "
        "short or unknown: --force starts it anyway); 130 Ctrl-C while following.",
    )
    actions = campaign.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run", help="accept a file's rows as a campaign and start it; prints its id and counts"
    )
    run.add_argument("file", help="CSV (.csv, .tsv) or JSON Lines (.jsonl, .ndjson) rows")
    run.add_argument("--name", help="default: the file's name without its suffix")
    run.add_argument(
        "--start-at", type=_start_at, metavar="WHEN",
        help="ISO 8601 (2025-01-31T09:00+07:00; no offset: this machine's time) or epoch s",
    )  # fmt: skip
    _add_spec_options(run)
    for command in (run, status := actions.add_parser("status", help="a campaign now")):
        command.add_argument(
            "--follow", action="store_true",
            help="follow it until it ends (a live view on a terminal, a plain line every few "
            "seconds elsewhere); Ctrl-C stops following, not the campaign",
        )  # fmt: skip
        command.add_argument(
            "--every", type=float, default=5.0, metavar="SECONDS",
            help="--follow without a terminal: a line this often (default 5)",
        )  # fmt: skip
        command.add_argument("--json", action="store_true", help="print JSON (JSON Lines "
                             "while following)")  # fmt: skip
    status.add_argument("id")
    listed = actions.add_parser("list", help="the newest campaigns")
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    for name, text in (
        ("pause", "stop handing out rows; what is queued waits"),
        ("resume", "send a paused campaign again"),
        ("cancel", "end a campaign: what was not claimed is never sent"),
    ):
        actions.add_parser(name, help=text).add_argument("id")
    report = actions.add_parser(
        "report",
        help="every source row's fate, streamed: row,destination,state,reason,message_id,"
        "channel,ref_no",
    )
    report.add_argument("id")
    report.add_argument(
        "--format", choices=["csv", "json"], default="csv",
        help="csv (with a header line) or json: JSON Lines, one object a row, so it streams",
    )  # fmt: skip
    report.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    schedule = actions.add_parser(
        "schedule",
        help="a recurring campaign: beat runs it at each fire time of a cron, once fleet-wide, "
        "with the rows a callable of your backend returns then",
    )
    schedule.add_argument("name", help="1-64 of a-z 0-9 _ -; each run is '<name> <time>'")
    schedule.add_argument("--cron", required=True, help="5 fields, e.g. '0 9 * * mon-fri'")
    schedule.add_argument("--tz", default="UTC", help="the zone the cron is read in")
    schedule.add_argument(
        "--recipients", required=True, metavar="MODULE:CALLABLE",
        help="called with no arguments in the worker at each run; returns the rows "
        "(an iterable of mappings, like a file's)",
    )  # fmt: skip
    schedule.add_argument("--replace", action="store_true", help="replace one of that name")
    _add_spec_options(schedule)
    actions.add_parser("unschedule", help="remove a recurring campaign").add_argument("name")
    schedules = actions.add_parser("schedules", help="the recurring campaigns, next and last runs")
    schedules.add_argument("--json", action="store_true", help="print JSON")
    campaign.set_defaults(func=run_command)
