"""Recurring campaigns: a cron schedule in a time zone, run by beat once per fire time, fleet-wide.

A definition (:class:`RecurringCampaign`) names a 5-field cron evaluated on the wall clock of its
zone, the import path of a callable of the user's backend that yields the recipients at each run,
and the campaign's options (opaque here, handed back to the caller that starts the campaign).
:class:`RecurringBook` keeps the definitions in one Redis hash and starts what is due::

    beat, every 5 s ─▶ RecurringBook.run_due(start)
        for each enabled definition: latest fire time ≤ now, if ≥ created_at and not too late
            ─▶ claim (SET NX per name and fire time) ─▶ start(defn, fire_at) → campaign id
            ─▶ last run recorded (campaign id, or the error)

**Once per fire time, whatever the number of beats.** Every beat (and any worker running the
task) computes the same fire time — it depends only on the definition and the clock — and the
run is claimed with ``SET NX`` on a key named by the definition and that fire time
(:meth:`Keys.recurring_run`). Exactly one claimant gets it; the key outlives the time during
which that fire time can still be due (see :mod:`nusaworker.keys`).

**A run that fails is not retried.** The claim is taken *before* ``start`` is called and kept
when ``start`` raises: the error is logged and recorded as the last run's outcome, and the next
run is the next fire time. A backend whose recipients callable fails would otherwise be asked
again every beat tick for the rest of the period, and a start that failed half-way (a campaign
created, then an error) could be started twice. Starting a failed run again is an operator's
decision (a one-off campaign), not beat's.

**Lateness.** Only the latest fire time ≤ now is ever considered, and only while less than
:data:`MAX_LATENESS_S` (an hour) has passed since it. A beat that was down for a day runs none of
the missed runs but the latest, and that one only if it is less than an hour late — a morning
campaign is not sent in the evening. For a cron more frequent than hourly the bound is one
period: a later fire time takes over as soon as it comes.

**Time zones and DST.** The cron is read on the zone's wall clock (croniter, zone from
:mod:`zoneinfo`). A fire time in the hour skipped when clocks go forward fires at the jump
(``30 2 * * *`` in Berlin fires at 03:00 that day). A wall time repeated when clocks go back
fires once, at its first occurrence: the second is the same fire time (``30 2 * * *`` runs once
that night, and an every-30-minutes cron pauses for the repeated hour). A definition fires only
at fire times from its ``created_at`` on: one added at 09:30 for ``0 9 * * *`` first runs the
next day.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import redis
from croniter import CroniterBadDateError, croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nusaworker.campaigns.errors import CampaignError, CampaignInputError
from nusaworker.campaigns.window import zone
from nusaworker.keys import RECURRING_RUN_TTL_CAP_S, Keys
from nusaworker.redis_scripts import as_text, lua

log = logging.getLogger(__name__)

# A fire time is started at most this long after it (module docstring, "Lateness").
MAX_LATENESS_S = 3600.0
# A run's claim lives this many periods of its cron (capped: nusaworker.keys).
CLAIM_PERIODS = 3
# An error recorded as a run's outcome is cut to this many characters.
MAX_ERROR_CHARS = 500

# The beat entry. The lead's task module (``nusaworker.housekeeping.recurring_campaigns``) calls
# RecurringBook.run_due; merged into ``beat_schedule`` by ``nusaworker/celery.py``. A tick that
# could not start within two periods is dropped: the next one finds whatever is still due.
RUN_PERIOD_S = 5.0
SCHEDULE: dict[str, dict[str, Any]] = {
    "campaigns.recurring": {
        "task": "nusaworker.housekeeping.recurring_campaigns",
        "schedule": RUN_PERIOD_S,
        "options": {"expires": 2 * RUN_PERIOD_S},
    },
}

_NAME = re.compile(r"[a-z0-9_-]{1,64}")
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_IMPORT_PATH = re.compile(rf"{_DOTTED}:{_DOTTED}")
# croniter's ``R`` (random) would give each beat a different fire time; ``H`` needs a hash id.
_NOT_SHARED = re.compile(r"(?<![A-Za-z])[HhRr](?![A-Za-z])")

Outcome = Literal["starting", "started", "failed"]


class RecurringNameTaken(CampaignError):
    """Raised when a recurring campaign is added under a name already taken (and not replaced)."""

    retryable = False


class RecurringCampaign(BaseModel):
    """One recurring campaign. Raises :class:`CampaignInputError` naming the field when a value
    is refused (a name that is not a 1-64 character slug, a cron that is not 5 valid fields or
    never fires, an unknown zone, a recipients path not of the form ``package.module:callable``,
    campaign options that are not JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    cron: str
    tz: str
    recipients: str
    campaign: dict[str, Any] = Field(default_factory=dict)
    created_at: float = Field(default_factory=time.time)
    enabled: bool = True

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise CampaignInputError(_explain(exc)) from exc

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not 1-64 characters of a-z, 0-9, '_' and '-'")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5:
            raise ValueError(f"{value!r} is not 5 fields (minute hour day month weekday)")
        text = " ".join(fields)
        if _NOT_SHARED.search(text) or not croniter.is_valid(text):
            raise ValueError(f"{value!r} is not a valid cron expression")
        try:
            croniter(text, 0.0).get_next(float)
        except CroniterBadDateError as exc:
            raise ValueError(f"{value!r} never fires") from exc
        return text

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        zone(value, "tz")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: str) -> str:
        if not _IMPORT_PATH.fullmatch(value):
            raise ValueError(f"{value!r} is not an import path 'package.module:callable'")
        return value

    @field_validator("campaign")
    @classmethod
    def _campaign(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the campaign options are not JSON: {exc}") from exc
        return value

    @field_validator("created_at")
    @classmethod
    def _created_at(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not an epoch time")
        return value

    # -- forms -----------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The definition as stored (JSON text)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> RecurringCampaign:
        """The definition :meth:`to_json` wrote; :class:`CampaignInputError` if it is not one."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CampaignInputError(f"recurring campaign: not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise CampaignInputError("recurring campaign: expected a JSON object")
        return cls(**data)

    # -- the schedule ----------------------------------------------------------------------------

    def latest_fire(self, now: float) -> float:
        """The latest fire time ≤ ``now`` (epoch seconds); a wall time repeated when clocks go
        back is its first occurrence."""
        tzinfo = zone(self.tz)
        # croniter's get_prev is strictly before its start: one second past ``now`` includes a
        # fire time at ``now`` itself (fire times are whole minutes).
        start = datetime.fromtimestamp(math.floor(now) + 1, tzinfo)
        fire: float = croniter(self.cron, start).get_prev(float)
        local = datetime.fromtimestamp(fire, tzinfo)
        return local.replace(fold=0).timestamp() if local.fold else fire

    def next_fire(self, after: float) -> float:
        """The first fire time strictly after ``after``."""
        start = datetime.fromtimestamp(after, zone(self.tz))
        fire: float = croniter(self.cron, start).get_next(float)
        return fire

    def due_at(self, now: float) -> float | None:
        """The fire time to run at ``now``, or None: the latest fire time ≤ ``now`` if it is not
        before ``created_at`` and less than :data:`MAX_LATENESS_S` old. Disabled: None."""
        if not self.enabled:
            return None
        fire = self.latest_fire(now)
        if fire < self.created_at or now - fire >= MAX_LATENESS_S:
            return None
        return fire

    def claim_ttl_s(self, fire_at: float) -> int:
        """How long the claim of the run at ``fire_at`` lives: :data:`CLAIM_PERIODS` periods,
        at most ``RECURRING_RUN_TTL_CAP_S``."""
        period = self.next_fire(fire_at) - fire_at
        return max(1, math.ceil(min(CLAIM_PERIODS * period, RECURRING_RUN_TTL_CAP_S)))

    # -- recipients ------------------------------------------------------------------------------

    def load_recipients(self) -> Callable[..., Any]:
        """The recipients callable, imported now (at each run: the backend's code may change).
        Raises :class:`CampaignInputError` if it cannot be imported or is not callable."""
        module_name, _, attribute = self.recipients.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
        except Exception as exc:  # any error of the user's module at import time
            raise CampaignInputError(
                f"recipients {self.recipients!r}: cannot import {module_name!r}: {exc!r}"
            ) from exc
        for part in attribute.split("."):
            try:
                target = getattr(target, part)
            except AttributeError as exc:
                raise CampaignInputError(
                    f"recipients {self.recipients!r}: {module_name!r} has no {attribute!r}"
                ) from exc
        if not callable(target):
            raise CampaignInputError(f"recipients {self.recipients!r} is not callable")
        return target


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "recurring campaign"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(message if message.startswith(f"{where}:") else f"{where}: {message}")
    return "recurring campaign: " + "; ".join(problems)


@dataclass(frozen=True)
class RunStarted:
    """A run of a recurring campaign: its fire time, its outcome (``starting`` while ``start``
    runs — or forever, if the process died in it —, ``started`` with the campaign id,
    ``failed`` with the error) and when that was recorded."""

    name: str
    fire_at: float
    outcome: Outcome
    campaign_id: str | None = None
    error: str | None = None
    at: float = 0.0

    def to_json(self) -> str:
        """The run as stored in the last-runs hash."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunStarted:
        """The run :meth:`to_json` wrote."""
        return cls(**json.loads(text))


class RecurringBook:
    """The fleet's recurring campaigns, in Redis.

    Args:
        redis_client: any client (beat's and the CLI's).
        keys: the deployment's key names.
        clock: epoch seconds; ``run_due`` and ``due`` use it when not given ``now``.
    """

    def __init__(
        self, redis_client: redis.Redis, *, keys: Keys, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis_client
        self.keys = keys
        self.clock = clock
        self._record_run = redis_client.register_script(
            lua("nusaworker.campaigns", "recurring_last_run")
        )

    def __repr__(self) -> str:
        return f"RecurringBook(prefix={self.keys.prefix!r})"

    # -- definitions -----------------------------------------------------------------------------

    def add(self, defn: RecurringCampaign, *, replace: bool = False) -> None:
        """Store ``defn``. A definition of the same name is refused with
        :class:`RecurringNameTaken` unless ``replace``."""
        key = self.keys.recurring_campaigns
        if replace:
            self.redis.hset(key, defn.name, defn.to_json())
        elif not self.redis.hsetnx(key, defn.name, defn.to_json()):
            raise RecurringNameTaken(
                f"a recurring campaign named {defn.name!r} exists (replace it, or remove it first)"
            )

    def remove(self, name: str) -> bool:
        """Remove the definition ``name`` and its last run; whether it existed."""
        pipe = self.redis.pipeline()
        pipe.hdel(self.keys.recurring_campaigns, name)
        pipe.hdel(self.keys.recurring_last_runs, name)
        removed, _ = pipe.execute()
        return bool(removed)

    def get(self, name: str) -> RecurringCampaign | None:
        """The definition ``name``, or None."""
        text = self.redis.hget(self.keys.recurring_campaigns, name)
        return None if text is None else RecurringCampaign.from_json(as_text(text))

    def all(self) -> list[RecurringCampaign]:
        """Every definition, by name. One that no longer reads (a zone gone from the system, a
        hand-edited hash) is logged and left out, so it cannot stop the others."""
        found = []
        stored: dict[Any, Any] = self.redis.hgetall(self.keys.recurring_campaigns)
        for name, text in sorted(stored.items()):
            try:
                found.append(RecurringCampaign.from_json(as_text(text)))
            except CampaignInputError:
                log.exception("recurring campaign %r no longer reads; left out", as_text(name))
        return found

    # -- runs ------------------------------------------------------------------------------------

    def due(self, now: float | None = None) -> list[tuple[RecurringCampaign, float]]:
        """Each enabled definition with the fire time to run at ``now``
        (:meth:`RecurringCampaign.due_at`), claimed or not."""
        at = self.clock() if now is None else now
        return [(d, fire) for d in self.all() if (fire := d.due_at(at)) is not None]

    def claim_run(self, name: str, fire_at: float, *, ttl_s: int = RECURRING_RUN_TTL_CAP_S) -> bool:
        """Take the run of ``name`` at ``fire_at``: True exactly once per (name, fire time)
        across every beat and worker (``SET NX``). ``ttl_s`` must outlive the time the fire time
        can still be due (:meth:`RecurringCampaign.claim_ttl_s`)."""
        claimed = self.redis.set(
            self.keys.recurring_run(name, fire_at), repr(self.clock()), nx=True, ex=ttl_s
        )
        return bool(claimed)

    def run_due(
        self, start: Callable[[RecurringCampaign, float], str], now: float | None = None
    ) -> list[RunStarted]:
        """Start every due run this caller claims: ``start(defn, fire_at)`` creates the campaign
        and returns its id. A ``start`` that raises is logged and recorded as the run's outcome
        (``failed``), and not retried (module docstring). Returns the runs started here."""
        runs = []
        for defn, fire_at in self.due(now):
            if not self.claim_run(defn.name, fire_at, ttl_s=defn.claim_ttl_s(fire_at)):
                continue
            self._record(RunStarted(defn.name, fire_at, "starting", at=self.clock()))
            try:
                campaign_id = start(defn, fire_at)
            except Exception as exc:
                log.exception(
                    "recurring campaign %r (fire time %s) failed to start", defn.name, fire_at
                )
                error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
                run = RunStarted(defn.name, fire_at, "failed", error=error, at=self.clock())
            else:
                run = RunStarted(defn.name, fire_at, "started", campaign_id, at=self.clock())
            self._record(run)
            runs.append(run)
        return runs

    def last_runs(self) -> dict[str, RunStarted]:
        """The latest run of each definition that has run, by name."""
        stored: dict[Any, Any] = self.redis.hgetall(self.keys.recurring_last_runs)
        return {as_text(k): RunStarted.from_json(as_text(v)) for k, v in sorted(stored.items())}

    def _record(self, run: RunStarted) -> None:
        keys = [self.keys.recurring_last_runs, self.keys.recurring_campaigns]
        self._record_run(keys=keys, args=[run.name, repr(run.fire_at), run.to_json()])
