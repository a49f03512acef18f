"""The ``nusaworker`` command: sandbox, send, status, dead-letters, balance, pause, resume,
suppress, campaign, callbacks, check, demo, bench.

Settings are read here, once, and handed down. Bad input is answered with a one-line error
and exit status 2 before anything is enqueued or any provider is called.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Sequence
from typing import Any

import redis
from pydantic import BaseModel, ValidationError

from nusaworker import cli_campaign as campaign_cli
from nusaworker.channels import CHANNELS, UnknownChannel
from nusaworker.errors import InvalidPhoneNumber, NusaWorkerError

EXIT_USAGE = 2


class UsageError(NusaWorkerError):
    """Raised when a command's arguments do not fit together (exit status 2)."""

    retryable = False


# An error line names the field and why; it never echoes a huge or multi-line input.
_MAX_LINE = 500


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _one_line(text: str) -> str:
    # A field name or a value in the message may be anything a caller typed.
    line = _printable(" ".join(text.split()))
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"


class _Parser(argparse.ArgumentParser):
    """argparse, but its one error line never carries a control character of the input (it
    echoes unrecognised arguments as given: a terminal would act on them)."""

    def error(self, message: str) -> typing.NoReturn:
        super().error(_printable(message))


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{field}: {err['msg']}")
    return _one_line("; ".join(parts))


def _field(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _cmd_sandbox(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.sandbox.__main__ import main as sandbox_main

    return sandbox_main(rest)


def _cmd_send(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker import producer

    row = CHANNELS[args.channel]
    fields: dict[str, Any] = dict(args.field)
    fields[row.destination_field] = _positional(row.request, row.destination_field, args.to)
    if args.text is not None:
        if row.text_field is None:
            raise UsageError(f"channel {row.name} takes no text; give its fields with --field")
        fields[row.text_field] = args.text
    if args.otp:
        fields["otp"] = True
    message_id = producer.submit(
        row.name,
        priority=args.priority,
        idempotency_key=args.idempotency_key,
        validity_s=args.validity,
        **fields,
    )
    print(message_id)
    return 0


def _positional(model: type[BaseModel], name: str, value: str) -> Any:
    """A positional argument as the request field ``name`` wants it: a list field takes a
    comma-separated list (``nusaworker send check 62811…,62812…``)."""
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) is list:
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _cmd_status(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker import producer

    record = producer.get_message(args.message_id)
    print(json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True))
    return 0


def _cmd_dead_letters(args: argparse.Namespace, rest: list[str]) -> int:
    import time

    from nusaworker.ledger.dead import DeadLetters
    from nusaworker.producer import default_producer
    from nusaworker.tracking import deadletters

    if args.limit < 1:
        raise UsageError("--limit starts at 1")
    try:
        since = None if args.since is None else deadletters.parse_since(args.since, time.time())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    producer = default_producer()
    letters = DeadLetters(producer.ledger.redis, keys=producer.ledger.keys)
    if args.requeue:
        new_id = deadletters.requeue(letters, producer.ledger, args.requeue, producer.submit)
        print(new_id)
        return 0
    found = letters.newest(since=since, limit=args.limit)
    deadletters.render(found, sys.stdout, as_json=args.json, total=letters.count())
    return 0


def _cmd_balance(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.credit import commands
    from nusaworker.settings import load_settings

    return commands.balance(load_settings(), sys.stdout, as_json=args.json)


def _cmd_routes(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.credit import routes
    from nusaworker.settings import load_settings

    return routes.print_routes(load_settings(), sys.stdout, as_json=args.json)


def _cmd_pause(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.credit import commands
    from nusaworker.settings import load_settings

    return commands.pause(load_settings(), args.channels, sys.stdout, account=args.account)


def _cmd_resume(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.credit import commands
    from nusaworker.settings import load_settings

    return commands.resume(load_settings(), args.channels, sys.stdout, account=args.account)


def _cmd_suppress(args: argparse.Namespace, rest: list[str]) -> int:
    from datetime import UTC, datetime

    from nusaworker.settings import load_settings
    from nusaworker.suppression import InvalidNumber, SuppressionList, normalise

    if args.action != "list" and not args.numbers:
        raise UsageError(f"suppress {args.action} needs one or more numbers")
    if args.action == "list" and args.numbers:
        raise UsageError("suppress list takes no numbers (use --page and --page-size)")
    settings = load_settings()
    try:  # every number is checked before anything is written
        numbers = [normalise(n, region=settings.default_region) for n in args.numbers]
    except InvalidNumber as exc:
        raise UsageError(str(exc)) from None
    listed = SuppressionList.from_settings(settings)
    if args.action == "add":
        for number, new in listed.add_many(numbers, source="cli", note=args.note).items():
            print(f"{number} {'suppressed' if new else 'already suppressed'}")
    elif args.action == "remove":
        for number, was in listed.remove_many(numbers, source="cli", note=args.note).items():
            print(f"{number} {'removed' if was else 'was not suppressed'}")
    elif args.action == "check":
        for number, found in zip(numbers, listed.contains_many(numbers), strict=True):
            print(f"{number} {'suppressed' if found else 'not suppressed'}")
    else:
        if args.page < 1 or args.page_size < 1:
            raise UsageError("--page and --page-size start at 1")
        total = listed.count()
        entries = listed.page((args.page - 1) * args.page_size, args.page_size)
        pages = max(1, -(-total // args.page_size))
        print(f"{total} suppressed; page {args.page} of {pages}, newest first")
        for e in entries:
            when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
            via = f" via {e.channel}" if e.channel else ""
            print(f"{e.destination}  {when} UTC  {e.source}{via}  {e.note}".rstrip())
    return 0


def _cmd_callbacks(args: argparse.Namespace, rest: list[str]) -> int:
    import signal

    from nusaworker import logs
    from nusaworker.settings import load_settings
    from nusaworker.tracking.receiver import CallbackServer
    from nusaworker.tracking.wsgi import create_app

    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads starts at 1")
    settings = load_settings()
    logs.setup(settings)  # NUSAWORKER_LOG_FORMAT, secrets masked
    server = CallbackServer.from_settings(
        create_app(settings), settings, host=args.host or None, port=args.port, threads=args.threads
    )
    # SIGTERM (systemd, Kubernetes) and ^C stop gracefully: requests in flight finish.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.request_stop())
    # The token is part of every push path; it is never printed.
    print(f"callback receiver on {server.url}/<token>/… (GET /healthz)", flush=True)
    server.serve_forever()
    print("callback receiver stopped", flush=True)
    return 0


def _cmd_check(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker import health
    from nusaworker.settings import load_settings

    for name in ("max_age_accepted", "max_beat_silence"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be above 0")
    settings = load_settings()
    verdict = health.check(
        settings,
        role=args.role,
        queue=args.queue,
        max_beat_silence_s=args.max_beat_silence,
        max_accepted_age_s=args.max_age_accepted,
        node=args.node,
    )
    if args.json:
        print(json.dumps(verdict.as_dict(), sort_keys=True))
    else:
        print(verdict.line)
    return 0 if verdict.ok else 1


def _cmd_demo(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.demo import main as demo_main

    return demo_main(rest)


def _cmd_bench(args: argparse.Namespace, rest: list[str]) -> int:
    from nusaworker.bench import main as bench_main

    return bench_main(rest)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nusaworker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "sandbox", help="serve the provider sandbox (see --help after it)", add_help=False
    ).set_defaults(func=_cmd_sandbox)

    send = sub.add_parser("send", help="accept a message and enqueue it; prints its id")
    send.add_argument("channel", choices=list(CHANNELS), help="a row of the channel table")
    send.add_argument(
        "to", metavar="destination", help="number, group, room id or numbers (by channel)"
    )
    send.add_argument("text", nargs="?", help="the message text, if the channel has one")
    send.add_argument(
        "--priority",
        choices=["otp", "normal", "bulk"],
        help="default: normal (otp for an SMS sent with --otp)",
    )
    send.add_argument(
        "--otp", action="store_true", help="SMS: send on the OTP route (otp=Y), priority otp"
    )
    send.add_argument("--idempotency-key")
    send.add_argument(
        "--validity",
        type=float,
        metavar="SECONDS",
        help="not sent within this long, the message ends expired (default: 300 for OTPs, "
        "none else; NUSAWORKER_VALIDITY_S)",
    )
    send.add_argument(
        "--field",
        type=_field,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra provider field, e.g. sender=628…",
    )
    send.set_defaults(func=_cmd_send)

    status = sub.add_parser("status", help="print a message's ledger record")
    status.add_argument("message_id")
    status.set_defaults(func=_cmd_status)

    dead = sub.add_parser(
        "dead-letters",
        help="messages that ended rejected, failed or unknown without being sent; newest first",
    )
    dead.add_argument("--since", help="only those ended since: an age (30m, 2h, 7d) or a date")
    dead.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    dead.add_argument("--json", action="store_true", help="print JSON instead of a table")
    dead.add_argument(
        "--requeue",
        metavar="ID",
        help="send this one again as a new message (only if nothing of it reached a provider)",
    )
    dead.set_defaults(func=_cmd_dead_letters)

    balance = sub.add_parser(
        "balance", help="print balances, expiry dates and the channels' breaker states"
    )
    balance.add_argument("--json", action="store_true", help="print JSON instead of a table")
    balance.set_defaults(func=_cmd_balance)
    routes = sub.add_parser(
        "routes", help="print the routes, each account's health and where traffic goes now"
    )
    routes.add_argument("--json", action="store_true", help="print JSON instead of a table")
    routes.set_defaults(func=_cmd_routes)
    channel_names = [*CHANNELS, "all"]
    for name, func, text in (
        ("pause", _cmd_pause, "pause channels fleet-wide (messages are held)"),
        ("resume", _cmd_resume, "resume paused channels; re-enqueue held messages"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument(
            "channels",
            nargs="+",
            choices=channel_names,
            metavar="channel",
            help=", ".join(channel_names),
        )
        command.add_argument(
            "--account", help="the account (NUSAWORKER_ACCOUNTS) whose channels; default: nusasms"
        )
        command.set_defaults(func=func)
    suppress = sub.add_parser(
        "suppress", help="the suppression list: numbers campaigns skip (opted out)"
    )
    suppress.add_argument("action", choices=["add", "remove", "check", "list"])
    suppress.add_argument(
        "numbers", nargs="*", metavar="number", help="digits; '+', spaces and dashes are dropped"
    )
    suppress.add_argument("--note", default="", help="add/remove: why (kept on the entry)")
    suppress.add_argument("--page", type=int, default=1, help="list: which page (from 1)")
    suppress.add_argument("--page-size", type=int, default=50, help="list: entries per page")
    suppress.set_defaults(func=_cmd_suppress)
    campaign_cli.add_parser(sub)
    callbacks = sub.add_parser(
        "callbacks", help="serve the callback receiver (provider pushes → ledger, inbox, hooks)"
    )
    callbacks.add_argument("--host", help="default: NUSAWORKER_CALLBACK_HOST (127.0.0.1)")
    callbacks.add_argument(
        "--port", type=int, help="default: NUSAWORKER_CALLBACK_PORT (8090); 0 picks a free one"
    )
    callbacks.add_argument(
        "--threads",
        type=int,
        help="requests served at once (default: NUSAWORKER_CALLBACK_THREADS, 8)",
    )
    callbacks.set_defaults(func=_cmd_callbacks)
    check = sub.add_parser(
        "check",
        help="exit 0 if the fleet is well, else 1 with one line saying why (probes, cron)",
    )
    check.add_argument(
        "--role",
        choices=["fleet", "worker", "beat", "receiver"],
        default="fleet",
        help="fleet (default): every check; worker: a live worker on this host; beat: beat "
        "ticks; receiver: its /healthz answers",
    )
    check.add_argument("--queue", default="otp", help="the queue that needs a consumer (otp)")
    check.add_argument(
        "--max-age-accepted",
        type=float,
        metavar="SECONDS",
        help="unwell when the oldest due accepted message waits longer "
        "(default: NUSAWORKER_HEALTH_MAX_ACCEPTED_AGE_S, 300)",
    )
    check.add_argument(
        "--max-beat-silence",
        type=float,
        metavar="SECONDS",
        help="unwell when beat has not ticked for longer "
        "(default: NUSAWORKER_HEALTH_MAX_BEAT_SILENCE_S, 30)",
    )
    check.add_argument(
        "--node", help="--role worker: the worker's node name (default: any on this host)"
    )
    check.add_argument("--json", action="store_true", help="print every finding as JSON")
    check.set_defaults(func=_cmd_check)
    sub.add_parser(
        "demo", help="run the embedded demo (Redis, sandbox, a small fleet)", add_help=False
    ).set_defaults(func=_cmd_demo)
    sub.add_parser(
        "bench", help="run the benchmarks; JSON results in bench-results/", add_help=False
    ).set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nusaworker`` console script."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("sandbox", "demo", "bench"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return int(args.func(args, rest))
    except ValidationError as exc:
        print(f"nusaworker: invalid input: {_validation_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, UnknownChannel, InvalidPhoneNumber) as exc:
        print(f"nusaworker: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except NusaWorkerError as exc:
        print(f"nusaworker: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except redis.RedisError as exc:
        # Redis down, or refusing the login: one line, not a traceback. redis-py's messages
        # name the host and port, never the password.
        print(f"nusaworker: Redis: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
