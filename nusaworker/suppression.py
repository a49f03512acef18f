"""The suppression list: numbers that asked to get no more campaigns, fleet-wide, in Redis.

Each entry says who put the number there and why (``source``: ``inbound`` — the number
texted an opt-out keyword —, ``cli`` or ``api``; ``note``: the keyword or the operator's note;
``at``: when; ``channel``: for an inbound opt-out, where it came in). Numbers are kept
normalised, digits only (``62812…``): ``+62 812-3456-7890`` and ``6281234567890`` are one
entry. Entries never expire (see :mod:`nusaworker.keys`).

Layout: a hash (number → JSON entry) and a sorted set (number scored by when it was added, for
paging newest first), changed together by one Lua function (``lua/suppression.lua``) that every
writer runs — this module's add and remove, and the inbox store
(:mod:`nusaworker.tracking.inbox`), which applies an inbound STOP in the same atomic step as it
stores the message, so a push the provider repeats changes nothing twice. Every change also
appends a ``suppression`` event to the events stream, for the hooks::

    {"event_id": "…", "type": "suppression", "action": "add" | "remove",
     "destination": "62812…", "source": "inbound", "note": "STOP", "channel": "wa", "at": …}

Reads are cheap: :meth:`SuppressionList.contains_many` answers thousands of numbers in one
round trip (chunked commands in one pipeline), which is what a campaign needs.

Nothing here refuses a send. Suppression is a campaign concern: the campaign skips suppressed
rows; a transactional message (an OTP, a reply) to a suppressed number still goes out.

Keyword matching (:class:`Keywords`) is pure: the whole text, trimmed, case-insensitive, with
punctuation and symbols ignored — ``"stop."`` and ``" Stop "`` match ``STOP``, ``"don't stop me
now"`` matches nothing.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis

from nusaworker.connections import redis_client
from nusaworker.errors import ConfigurationError, NusaWorkerError
from nusaworker.keys import EVENTS_MAXLEN, Keys
from nusaworker.phones import InvalidPhoneNumber, provider_number
from nusaworker.redis_scripts import as_text, lua
from nusaworker.settings import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, Settings

Source = Literal["inbound", "cli", "api"]
Action = Literal["add", "remove"]

# A number is 5 to 20 digits, like the senders the callback receiver accepts: short codes and
# long international numbers both fit.
MIN_DIGITS = 5
MAX_DIGITS = 20
# Numbers per command when checking or changing many: each command stays short so that other
# clients' commands interleave with a big batch; the whole batch still takes one round trip.
CHUNK = 1_000
MAX_NOTE_CHARS = 200

_SEPARATORS = re.compile(r"[\s\-]+")
_DIGITS = re.compile(r"[0-9]+")


class InvalidNumber(NusaWorkerError, ValueError):
    """Raised when a number given to the suppression list is not digits (with an optional
    ``+``, spaces and dashes) of a plausible length."""

    retryable = False


def normalise(destination: str, *, region: str = "ID") -> str:
    """``destination`` as the list keeps it: digits only, in the form messages are sent to.

    A leading ``+``, spaces and dashes are dropped (``+62 812-3456-7890`` → ``6281234567890``);
    anything else is refused with :class:`InvalidNumber` rather than guessed at. A national
    form (``0812…``) is read in ``region`` as the producer reads a
    destination (``081234567890`` → ``6281234567890``): an operator who suppresses the number
    as a person writes it must stop the messages the fleet sends to ``62812…``.
    """
    if not isinstance(destination, str):
        raise InvalidNumber(f"not a phone number: {destination!r}")
    number = _SEPARATORS.sub("", destination)
    number = number.removeprefix("+")
    if not _DIGITS.fullmatch(number) or not MIN_DIGITS <= len(number) <= MAX_DIGITS:
        raise InvalidNumber(
            f"not a phone number: {destination!r} (digits, with an optional '+', spaces and "
            f"dashes; {MIN_DIGITS} to {MAX_DIGITS} digits)"
        )
    if number.startswith("0"):
        try:
            return provider_number(number, region=region)
        except InvalidPhoneNumber:
            raise InvalidNumber(
                f"not a phone number: {destination!r} (not a valid number of region {region})"
            ) from None
    return number


# -- keywords (pure) ---------------------------------------------------------------------------


def keyword_form(text: str) -> str:
    """``text`` as keywords are compared: punctuation and symbols (emoji included) become
    spaces, runs of whitespace one space, trimmed, case-folded. ``" Stop! "`` → ``"stop"``,
    ``"opt-out"`` → ``"opt out"``."""
    kept = "".join(
        " " if unicodedata.category(ch)[0] in "PSZC" else ch
        for ch in unicodedata.normalize("NFKC", text)
    )
    return " ".join(kept.split()).casefold()


@dataclass(frozen=True)
class KeywordMatch:
    """What an inbound text asks: ``add`` (opt-out) or ``remove`` (opt-in), by which keyword
    (as configured, e.g. ``STOP``)."""

    action: Action
    keyword: str


class Keywords:
    """The opt-out and opt-in keywords (``NUSAWORKER_OPT_OUT_KEYWORDS`` / ``_OPT_IN_…``).

    Raises :class:`~nusaworker.errors.ConfigurationError` when a word is both, or empty once
    punctuation is ignored.
    """

    def __init__(
        self,
        opt_out: Iterable[str] = OPT_OUT_KEYWORDS,
        opt_in: Iterable[str] = OPT_IN_KEYWORDS,
    ) -> None:
        self._words: dict[str, KeywordMatch] = {}
        groups: tuple[tuple[Action, Iterable[str]], ...] = (("add", opt_out), ("remove", opt_in))
        for action, words in groups:
            for word in words:
                form = keyword_form(word)
                if not form:
                    raise ConfigurationError(f"an opt-out/opt-in keyword is empty: {word!r}")
                known = self._words.get(form)
                if known is not None and known.action != action:
                    raise ConfigurationError(f"keyword {word!r} is both opt-out and opt-in")
                self._words[form] = KeywordMatch(action, word.strip().upper())

    @classmethod
    def from_settings(cls, settings: Settings) -> Keywords:
        """The keywords ``settings`` name."""
        return cls(settings.opt_out_keywords, settings.opt_in_keywords)

    def match(self, text: str) -> KeywordMatch | None:
        """What the whole of ``text`` asks for, or None for any other text."""
        return self._words.get(keyword_form(text))

    def __repr__(self) -> str:
        out = sorted(m.keyword for m in self._words.values() if m.action == "add")
        back = sorted(m.keyword for m in self._words.values() if m.action == "remove")
        return f"Keywords(opt_out={out}, opt_in={back})"


# -- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One suppressed number: who put it there (``source``), why (``note``: the keyword or
    the operator's note), when (``at``, epoch seconds), and for an inbound opt-out the channel
    it came in on."""

    destination: str
    source: str
    note: str
    at: float
    channel: str = ""


def entry_json(source: Source, note: str, at: float, channel: str = "") -> str:
    """The JSON an entry (and its event) is stored as; for writers that run the Lua function
    inside their own script (the inbox store)."""
    data = {"source": source, "note": note[:MAX_NOTE_CHARS], "at": at, "channel": channel}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def script_source(body: str) -> str:
    """A script that may call ``apply_suppression``: the list's Lua function, then ``body``."""
    return lua("nusaworker", "suppression") + "\n" + body


class SuppressionList:
    """The fleet's suppression list under one key prefix.

    Args:
        redis_client: any client (the ``edge`` role of :mod:`nusaworker.connections` suits).
        keys: the deployment's key names.
        clock: epoch seconds, for the entries' ``at``.
        events_maxlen: cap of the events stream the changes are announced on.
        region: where a national number (``0812…``) is read (:func:`normalise`).
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        keys: Keys,
        clock: Callable[[], float] = time.time,
        events_maxlen: int = EVENTS_MAXLEN,
        region: str = "ID",
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.region = region
        self.clock = clock
        self.events_maxlen = events_maxlen
        self._change = redis_client.register_script(
            script_source(lua("nusaworker", "suppression_change"))
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SuppressionList:
        """The list of the fleet ``settings`` describe, on an ``edge`` Redis client."""
        client = redis_client(settings.redis_url, "edge")
        return cls(client, keys=Keys(prefix=settings.key_prefix), region=settings.default_region)

    def __repr__(self) -> str:
        return f"SuppressionList(prefix={self.keys.prefix!r})"

    def _number(self, destination: str) -> str:
        return normalise(destination, region=self.region)

    # -- writes --------------------------------------------------------------------------------

    def add(self, destination: str, *, source: Source = "api", note: str = "") -> bool:
        """Suppress ``destination``; whether it was new (an existing entry is kept as it is).
        Raises :class:`InvalidNumber` before anything is written."""
        return self.add_many([destination], source=source, note=note)[self._number(destination)]

    def add_many(
        self, destinations: Iterable[str], *, source: Source = "api", note: str = ""
    ) -> dict[str, bool]:
        """Suppress every number; returns each normalised number → whether it was new. All are
        checked (:class:`InvalidNumber`) before any is written."""
        return self._apply("add", destinations, source=source, note=note)

    def remove(self, destination: str, *, source: Source = "api", note: str = "") -> bool:
        """Take ``destination`` off the list; whether it was on it."""
        return self.remove_many([destination], source=source, note=note)[self._number(destination)]

    def remove_many(
        self, destinations: Iterable[str], *, source: Source = "api", note: str = ""
    ) -> dict[str, bool]:
        """Take every number off the list; returns each normalised number → whether it was on
        it. ``source``/``note`` say who removed it (on the ``suppression`` event)."""
        return self._apply("remove", destinations, source=source, note=note)

    def _apply(
        self, action: Action, destinations: Iterable[str], *, source: Source, note: str
    ) -> dict[str, bool]:
        numbers = list(dict.fromkeys(self._number(d) for d in destinations))
        at = self.clock()
        meta = entry_json(source, note, at)
        changed: dict[str, bool] = {}
        keys = [self.keys.suppressed, self.keys.suppressed_index, self.keys.events]
        for start in range(0, len(numbers), CHUNK):
            chunk = numbers[start : start + CHUNK]
            flags: Any = self._change(
                keys=keys, args=[action, meta, repr(at), self.events_maxlen, *chunk]
            )
            changed.update(zip(chunk, (bool(int(f)) for f in flags), strict=True))
        return changed

    # -- reads ---------------------------------------------------------------------------------

    def contains(self, destination: str) -> bool:
        """Whether ``destination`` is suppressed."""
        return bool(self.redis.hexists(self.keys.suppressed, self._number(destination)))

    def contains_many(self, destinations: Sequence[str]) -> list[bool]:
        """Whether each of ``destinations`` is suppressed, in their order: one round trip for
        the whole batch (one ``ZMSCORE`` per :data:`CHUNK` numbers, pipelined). Every number
        is checked (:class:`InvalidNumber`) before Redis is asked."""
        numbers = [self._number(d) for d in destinations]
        if not numbers:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for start in range(0, len(numbers), CHUNK):
            pipe.zmscore(self.keys.suppressed_index, numbers[start : start + CHUNK])
        found: list[bool] = []
        for scores in pipe.execute():
            found += [score is not None for score in scores]
        return found

    def get(self, destination: str) -> Entry | None:
        """The entry of ``destination``, or None when it is not suppressed."""
        number = self._number(destination)
        raw = self.redis.hget(self.keys.suppressed, number)
        return None if raw is None else _entry(number, raw)

    def count(self) -> int:
        """How many numbers are suppressed."""
        return int(self.redis.hlen(self.keys.suppressed))

    def page(self, offset: int = 0, limit: int = 100) -> list[Entry]:
        """Up to ``limit`` entries from the ``offset``-th on, newest first (the list, paged)."""
        if limit <= 0 or offset < 0:
            return []
        numbers: Any = self.redis.zrevrange(self.keys.suppressed_index, offset, offset + limit - 1)
        if not numbers:
            return []
        names = [as_text(n) for n in numbers]
        raws: Any = self.redis.hmget(self.keys.suppressed, names)
        # A number removed between the two reads is simply left out of the page.
        return [_entry(n, raw) for n, raw in zip(names, raws, strict=True) if raw is not None]


def _entry(number: str, raw: Any) -> Entry:
    data = json.loads(as_text(raw))
    return Entry(
        destination=number,
        source=str(data.get("source", "")),
        note=str(data.get("note", "")),
        at=float(data.get("at", 0.0)),
        channel=str(data.get("channel", "")),
    )
