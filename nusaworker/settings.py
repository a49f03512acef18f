"""Settings, read once at the edges (``celery.py``, ``cli.py``) and passed down as arguments.

Every variable carries the ``NUSAWORKER_`` prefix; a ``.env`` file in the working directory is
read too. Secrets are :class:`~pydantic.SecretStr` (the Redis URL a
:class:`~nusaworker.connections.RedisURL`, which shows itself with its password masked): masked in
every repr and log line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nusaworker.connections import RedisURL
from nusaworker.limits import Limits
from nusaworker.types import PRIORITIES

# Retry budgets and validity per priority (see nusaworker.retries and docs/delivery.md). In the
# environment each is JSON naming only the priorities it changes, e.g.
# NUSAWORKER_RETRY_MAX_ATTEMPTS='{"bulk": 6}'; the others keep these defaults.
RETRY_MAX_ATTEMPTS: dict[str, int] = {"otp": 5, "normal": 10, "bulk": 10}
RETRY_MAX_AGE_S: dict[str, float] = {"otp": 900.0, "normal": 6 * 3600.0, "bulk": 24 * 3600.0}
RETRY_BACKOFF_BASE_S: dict[str, float] = {"otp": 2.0, "normal": 10.0, "bulk": 30.0}
VALIDITY_S: dict[str, float] = {"otp": 300.0, "normal": 0.0, "bulk": 0.0}
_PER_PRIORITY_DEFAULTS: dict[str, dict[str, Any]] = {
    "retry_max_attempts": RETRY_MAX_ATTEMPTS,
    "retry_max_age_s": RETRY_MAX_AGE_S,
    "retry_backoff_base_s": RETRY_BACKOFF_BASE_S,
    "validity_s": VALIDITY_S,
}

# Balance types the watch knows (see nusaworker.credit.balance): the JSON API's balances and
# the SMS v3 CREDITS answer.
# A WAChat account's smallest sender quota left is watched as ``wachat_quota``.
BALANCE_TYPES = ("wa", "sms", "hlr", "sim", "pulsa", "sms_credits", "wachat_quota")


# Opt-out and opt-in keywords (nusaworker.suppression): an inbound message whose whole text is
# one of these (trimmed, case-insensitive, punctuation ignored) adds its sender to the
# suppression list, or removes it. The opt-out words are the ones SMS carriers and gateways
# honour by default (Twilio, CTIA: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, plus OPTOUT /
# OPT OUT, REVOKE) and their usual Indonesian forms (BERHENTI "stop", STOP SMS, UNREG — the
# operators' own unsubscribe word). YES is left out of the opt-in words, unlike Twilio's list:
# suppressed numbers still get transactional messages, and a "YES" to one of those ("reply YES
# to confirm") must not re-subscribe them to campaigns. Kept short: every word here is also a
# word someone may send meaning something else.
OPT_OUT_KEYWORDS = (
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT OUT",
    "REVOKE",
    "BERHENTI",
    "STOP SMS",
    "UNREG",
)
OPT_IN_KEYWORDS = ("START", "UNSTOP")

# The account the single-account settings (NUSAWORKER_NUSASMS_*) describe; every channel's
# route is this account unless NUSAWORKER_ROUTES says otherwise.
DEFAULT_ACCOUNT = "nusasms"
ACCOUNT_NAME = r"^[a-z][a-z0-9_-]{0,31}$"


class AccountSettings(BaseModel):
    """One provider account: which provider, where, its credentials and its own rate rule.

    ``credentials`` are the keyword names of the provider family's client (NusaSMS:
    ``api_key``, ``sms_user``, ``sms_password``), each kept secret. ``min_interval_ms``: the
    account's own rule, one hit per that many ms; empty = the provider family's documented
    rule. ``options`` go to the client as they are (e.g. a gateway's ``device_id``).
    """

    # A value is never quoted in a validation error: it may be a credential.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    name: str = Field(pattern=ACCOUNT_NAME)
    provider: str = "nusasms"
    base_url: str | None = None
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    min_interval_ms: float | None = Field(default=None, gt=0)
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Settings(BaseSettings):
    """All of nusaworker's configuration."""

    # hide_input_in_errors: a bad value is named by its variable, never quoted — it may be a
    # credential (an API key pasted into the wrong variable, a Redis URL with its password).
    model_config = SettingsConfigDict(
        env_prefix="NUSAWORKER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    # A secret: it may hold a password (redis://:pw@host, an ACL user's redis://user:pw@host,
    # rediss:// for TLS). Prints masked; ``.get_secret_value()`` is for the code that connects.
    redis_url: RedisURL = RedisURL("redis://localhost:6379/0")
    nusasms_base_url: str = "https://api.nusasms.com"
    nusasms_api_key: SecretStr = SecretStr("")
    nusasms_sms_user: str = ""
    nusasms_sms_password: SecretStr = SecretStr("")
    # The provider's documented rule is one hit per 50 ms per account; the gate adds its own
    # small safety margin on top (see nusaworker.pacing).
    min_interval_ms: float = Field(default=50.0, gt=0)
    # Which fleet-wide gate paces the hits: "causal" (a hit leaves only after the previous one
    # was reported written; see nusaworker.pacing.causal) or "slots", the previous clock-based
    # gate (nusaworker.pacing.gate), kept to be measured side by side.
    pacing_gate: Literal["causal", "slots"] = "causal"
    # Added to every interval. Causal gate: how much faster the path to the provider may carry
    # one request than the one before (default 0.5 ms, a LAN); slots gate: also what happens
    # between its last check and the write (default 2 ms). Empty = the gate's own default.
    pacing_safety_margin_ms: float | None = Field(default=None, ge=0)
    # Slots gate only: how late after its slot started a woken worker may still fire (at most
    # the margin; default 1 ms).
    pacing_late_tolerance_ms: float | None = Field(default=None, gt=0)
    # Causal gate only: a turn not reported this long after its start is handed on (its holder
    # died); what a dead holder costs the account.
    pacing_lease_ms: float = Field(default=250.0, gt=10)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    # A record that reached its final state stays readable this many days (support questions,
    # reports, a campaign's final report), then Redis drops it; its events went to the hooks
    # as they happened.
    record_retention_days: float = Field(default=30.0, gt=0)
    # All nusaworker keys in Redis hang under this prefix (see nusaworker.keys).
    key_prefix: str = "nw:"
    # Broker redelivery of an unacknowledged task whose worker died. Only a last resort: what a
    # dead worker held comes back within seconds through the heartbeat and lease resolution
    # below. It must stay well above the longest task (a send with its transport retries takes
    # a few minutes at worst) and above every countdown (nusaworker.routing.max_countdown
    # caps them at a quarter of it), or a live task would be handed out a second time.
    visibility_timeout_s: int = Field(default=600, ge=2)
    # A redelivered OTP whose first hit may have reached the provider is sent again (a
    # duplicate code is better than none); other priorities end "unknown". See docs/operations.md.
    otp_resend_in_doubt: bool = True
    # Worker liveness (nusaworker.liveness): every worker process that holds broker messages
    # rewrites its heartbeat key this often, with this TTL. A worker whose key is gone is dead:
    # beat resolves its claims and re-enqueues what it had received within seconds. The TTL is
    # many intervals long, so a live worker that is merely slow is never declared dead.
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    heartbeat_ttl_s: float = Field(default=8.0, gt=0)
    # `nusaworker check` (nusaworker.health): beat is silent once its heartbeat (written at every
    # tick, at least every 2 s; a standby beat takes over within the 10 s lock timeout) is older
    # than this; the fleet is behind once its oldest ``accepted`` message (due, not scheduled)
    # waits longer than this — an OTP's validity: a code older than that is useless (the replay
    # sweep re-enqueues a lost task only at 600 s).
    # A bulk backlog of more than this many seconds of the account's rate trips it too: raise it
    # (or give `--max-age-accepted`) where such backlogs are normal.
    health_max_beat_silence_s: float = Field(default=30.0, gt=0)
    health_max_accepted_age_s: float = Field(default=300.0, gt=0)

    # -- accounts and routes (nusaworker.accounts, docs/accounts.md) -----------------------------
    # More provider accounts beside the default one (named "nusasms", from the settings above),
    # as JSON: '[{"name": "backup", "provider": "nusasms", "credentials": {"api_key": "…"}}]'.
    accounts: list[AccountSettings] = Field(default_factory=list)
    # Each provider's rate rule, one hit per this many ms per account, by provider family, as
    # JSON ('{"wachat": 100}'); a provider not named keeps its documented rule (NusaSMS: 50 ms,
    # NUSAWORKER_MIN_INTERVAL_MS); an account may still set its own.
    provider_min_interval_ms: dict[str, float] = Field(default_factory=dict)
    # Per channel, or per channel and priority ("sms:otp"), the accounts that send it, in order
    # of preference, as JSON: '{"sms": ["nusasms", "backup"], "sms:otp": ["backup"]}'. A channel
    # not named goes through the default account.
    routes: dict[str, list[str]] = Field(default_factory=dict)
    # Failover: an account that met this many transient errors (429, 5xx, dropped connections)
    # within the window is passed over while another of its route is healthy (GOV.UK Notify:
    # 50 errors in 60 s).
    failover_error_threshold: int = Field(default=50, ge=1)
    failover_error_window_s: float = Field(default=60.0, gt=0)
    # … or whose delivery is slow: at least this share of the messages it sent within the
    # window (whose provider reports delivery) still not delivered this long after they were
    # sent (GOV.UK Notify: 15 % of the last 15 minutes' messages not delivered after 5 minutes).
    # Judged by beat every 30 s, once at least ``min_sample`` messages are old enough.
    failover_slow_share: float = Field(default=0.15, gt=0, le=1)
    failover_slow_after_s: float = Field(default=300.0, gt=0)
    failover_slow_window_s: float = Field(default=900.0, gt=0)
    failover_slow_min_sample: int = Field(default=20, ge=1)

    # -- retries and validity (nusaworker.retries) ----------------------------------------------
    # A delivery attempt (one claim; the client's own quick transport retries inside it) that
    # failed transiently — 429, 5xx, connect errors, the gate out of reach — goes back to the
    # ledger and beat releases it again after a backoff: uniform in [0, min(cap, base · 2^(n-1))]
    # after attempt n. Past max attempts, or max age since acceptance, it ends ``failed``.
    retry_max_attempts: dict[str, int] = Field(default_factory=lambda: dict(RETRY_MAX_ATTEMPTS))
    retry_max_age_s: dict[str, float] = Field(default_factory=lambda: dict(RETRY_MAX_AGE_S))
    retry_backoff_base_s: dict[str, float] = Field(
        default_factory=lambda: dict(RETRY_BACKOFF_BASE_S)
    )
    retry_backoff_cap_s: float = Field(default=1800.0, gt=0)
    # Validity: a message not sent (its hit not started) this long after its acceptance ends
    # ``expired`` instead of arriving late; 0 = none. A producer call may give its own.
    validity_s: dict[str, float] = Field(default_factory=lambda: dict(VALIDITY_S))

    # -- delivery tracking (nusaworker.tracking) ------------------------------------------------
    # Status polls may use at most this share of the account's hits (the rest is the sends');
    # they also take their pacing slots at "bulk" priority, so they never overtake a send.
    poll_share: float = Field(default=0.2, ge=0, le=1)
    # A message still not final this long after it was sent is given up on: ``expired``.
    poll_horizon_s: float = Field(default=24 * 3600, gt=0)
    # A poll handed to a worker is not handed out again for this long (its task was lost).
    poll_lease_s: float = Field(default=120, gt=0)
    # Records ``accepted`` this long (their task was lost) are re-enqueued: a safety net. A
    # record waiting for a retry counts from its retry_at (beat's release job enqueues it then).
    replay_after_s: float = Field(default=600, gt=0)
    # A due ``accepted`` record whose queue is empty and that no live worker has received is
    # re-enqueued after this long: its task was lost on the way (nusaworker.tracking.orphans).
    orphan_after_s: float = Field(default=10.0, gt=0)
    # The callback receiver: the secret path segment providers push to (``/<token>/wa/status``).
    callback_token: SecretStr = SecretStr("")
    callback_host: str = "127.0.0.1"
    callback_port: int = Field(default=8090, ge=0, le=65535)
    callback_max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # Its server (waitress, nusaworker.tracking.receiver): threads run the app (a push is one
    # or two Redis round trips, so a few threads serve hundreds a second); a connection silent
    # this long — a keep-alive left open, a client that stopped mid-request — is closed, and so
    # is one whose request is not received whole within the request timeout (a slow loris
    # trickling bytes); at most this many connections at once; on SIGTERM, requests in flight
    # get the grace to finish.
    callback_threads: int = Field(default=8, ge=1)
    callback_idle_timeout_s: int = Field(default=30, ge=1)
    callback_request_timeout_s: float = Field(default=30.0, gt=0)
    callback_connection_limit: int = Field(default=200, ge=1)
    callback_shutdown_grace_s: float = Field(default=10.0, gt=0)
    # The status page (GET /status on the receiver, docs/operations.md) asks for this token;
    # empty = the callback token. A token of its own lets people read the page without
    # knowing the secret the provider pushes to.
    status_token: SecretStr = SecretStr("")
    # Hooks: a Celery task of the user's backend called with every event (by name, on the
    # backend's own queue), and/or a webhook (JSON, HMAC-SHA256 signed with webhook_secret).
    hook_task: str = ""
    hook_queue: str = "hooks"
    # Webhook URLs are credentials (a Slack-style incoming hook is its URL): secrets.
    webhook_url: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_base_s: float = Field(default=2.0, gt=0)

    # -- phone checks (nusaworker.phonecheck) ---------------------------------------------------
    # How long a phone-check answer is trusted. Whether a number has WhatsApp changes rarely
    # (a person installs or drops it, a carrier recycles a number after months idle), while a
    # campaign re-run within days asks again for the same numbers: a week spares those checks
    # and bounds both staleness and the cache's Redis memory (one small key per number).
    phone_check_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    # A partial batch (under 100 numbers) waits at most this long for more numbers before it
    # goes out anyway: long enough for producers asking at once to share a hit, short enough
    # that a lone check answers within seconds.
    phone_check_linger_s: float = Field(default=2.0, ge=0)
    # Numbers taken per dispatcher run (beat, every second), at most; a multiple of 100. Two
    # seconds of one account's budget (20 hits/s x 100 numbers): a campaign's million numbers
    # go to the check queue a window at a time, not all at once.
    phone_check_max_per_run: int = Field(default=4_000, ge=100, multiple_of=100)
    # Where the provider pushes the results of coalesced checks: the callback receiver's public
    # URL with its token and path (``https://host/<token>/wa/phone_check``). Empty: no URL is
    # sent and the provider pushes to the account's configured callback.
    # A secret (it holds the token): given to the provider client, never kept in a payload.
    phone_check_callback_url: SecretStr = SecretStr("")

    # -- suppression list (nusaworker.suppression) ------------------------------------------------
    # Comma-separated; see OPT_OUT_KEYWORDS above for the defaults and why.
    opt_out_keywords: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(OPT_OUT_KEYWORDS)
    )
    opt_in_keywords: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(OPT_IN_KEYWORDS)
    )

    # -- balances, credit and breakers (nusaworker.credit) ---------------------------------------
    # The balance watch (beat) reads balances at most this often, fleet-wide.
    balance_watch_interval_s: float = Field(default=300.0, gt=0)
    # Alert when a balance type falls below its threshold (and again when it is back). The keys
    # are the watched types (wa, sms, hlr, sim, pulsa, sms_credits); a threshold of 0 watches
    # only the type's expiry date. Environment: JSON, e.g. '{"wa": 500, "sms_credits": 1000}'.
    balance_thresholds: dict[str, float] = Field(
        default_factory=lambda: {
            "wa": 100.0,
            "sms": 100.0,
            "sms_credits": 100.0,
            "wachat_quota": 100.0,
        }
    )
    # Alert when a watched balance expires within this many days (and when it has expired).
    balance_expiry_days: int = Field(default=7, ge=0)
    # A paused channel's breaker is probed (one balance or CREDITS call, through the gate) at
    # most this often; beat ticks every few seconds, so this is the real interval.
    breaker_probe_interval_s: float = Field(default=15.0, gt=0)
    # A breaker paused for credit closes only when the wallet holds at least this much.
    breaker_resume_min_credit: float = Field(default=1.0, ge=0)
    # A message held while its channel is paused is left alone by the replay sweep this long
    # (its accepted-index score); resume re-enqueues it long before, this is the safety net.
    breaker_hold_s: float = Field(default=600.0, gt=0)
    # Alert sinks, comma-separated: log, webhook, smtp.
    alert_sinks: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["log"])
    alert_timeout_s: float = Field(default=5.0, gt=0)
    # The webhook sink POSTs JSON signed with HMAC-SHA256 (header X-Nusaworker-Signature).
    alert_webhook_url: SecretStr = SecretStr("")
    alert_webhook_secret: SecretStr = SecretStr("")
    alert_smtp_host: str = ""
    alert_smtp_port: int = Field(default=25, ge=1, le=65535)
    alert_smtp_from: str = ""
    alert_smtp_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alert_smtp_user: str = ""
    alert_smtp_password: SecretStr = SecretStr("")
    alert_smtp_starttls: bool = False
    # Log lines (nusaworker.logs): "text", or "json" (one object per line, a state change's
    # message id, state, account, ref_no and reason as keys). Secrets are masked in both.
    log_format: Literal["text", "json"] = "text"
    # Each worker serves its Prometheus metrics (nusaworker.metrics, docs/operations.md) on
    # this port, at /metrics; 0 = off. Two workers on one host need a port each (the second
    # finds it taken, logs it and serves nothing). celery-exporter's default is 9808 too: it runs
    # in a container of its own (deploy/), or give it --port on a shared host.
    metrics_port: int = Field(default=9808, ge=0, le=65535)
    # Where a worker's processes keep their counters (prometheus-client's multiprocess mode):
    # emptied when the worker starts, so one directory per worker. Empty: a private temporary
    # directory, removed when the worker stops.
    metrics_dir: str = ""

    # -- campaigns (nusaworker.campaigns) -------------------------------------------------------
    # The region (ISO 3166 alpha-2) in which a campaign destination written without a country
    # code is read: "0812…" is +62 812… with "ID".
    default_region: str = Field(default="ID", pattern=r"^[A-Z]{2}$")
    # How many of a campaign's messages may be unsent (queued or being sent) at once: the
    # dispatcher tops it up as each one ends (nusaworker.campaigns.dispatch says why so few).
    # Enough for 20 hits/s from a provider answering within ~200 ms; raise it to about
    # rate x answer time + 2 for a slower one.
    campaign_in_flight: int = Field(default=6, ge=1, le=1000)
    # An `auto` campaign row waits this long for its phone check, then goes as an SMS (SMS
    # reaches every phone; a lost check must not hold the campaign for ever).
    campaign_auto_timeout_s: float = Field(default=120.0, gt=0)

    # -- limits at the edge (nusaworker.limits, docs/limits.md) ----------------------------------
    # JSON naming only the bounds it lowers, e.g. NUSAWORKER_LIMITS='{"wa.message": 1500}' (one
    # WA credit a message); a bound may never be raised above the documented one.
    limits: dict[str, int] = Field(default_factory=dict)

    @field_validator("limits", mode="after")
    @classmethod
    def _limits_only_lower(cls, value: dict[str, int]) -> dict[str, int]:
        Limits(value)  # raises ValueError naming the bound
        return value

    def edge_limits(self) -> Limits:
        """The bounds in force at the edge (the producer, the CLI)."""
        return Limits(self.limits)

    @field_validator(
        "alert_sinks", "alert_smtp_to", "opt_out_keywords", "opt_in_keywords", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("provider_min_interval_ms", mode="after")
    @classmethod
    def _positive_rules(cls, value: dict[str, float]) -> dict[str, float]:
        if any(ms <= 0 for ms in value.values()):
            raise ValueError("a provider's rule is a positive number of milliseconds")
        return value

    @field_validator("routes", mode="after")
    @classmethod
    def _routes_name_accounts(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, names in value.items():
            if not names:
                raise ValueError(f"route {key!r} names no account")
            if len(set(names)) != len(names):
                raise ValueError(f"route {key!r} names an account twice")
        return value

    @model_validator(mode="after")
    def _accounts_are_unique(self) -> Settings:
        names = [DEFAULT_ACCOUNT, *(a.name for a in self.accounts)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"accounts named twice (the default is {DEFAULT_ACCOUNT!r}): {twice}")
        missing = sorted({n for route in self.routes.values() for n in route} - set(names))
        if missing:
            raise ValueError(f"routes name accounts that are not declared: {missing}")
        return self

    def all_accounts(self) -> list[AccountSettings]:
        """The default account (the ``nusasms_*`` settings) first, then the declared ones;
        every NusaSMS account gets ``phone_check_callback_url`` as a credential."""
        credentials = {"api_key": self.nusasms_api_key, "sms_password": self.nusasms_sms_password}
        callback = {"phone_check_callback_url": self.phone_check_callback_url}
        if not self.phone_check_callback_url.get_secret_value():
            callback = {}
        default = AccountSettings(
            name=DEFAULT_ACCOUNT,
            provider="nusasms",
            base_url=self.nusasms_base_url,
            credentials={**credentials, "sms_user": SecretStr(self.nusasms_sms_user)} | callback,
            min_interval_ms=self.min_interval_ms,
        )
        # A declared NusaSMS account sends its checks' results to the same receiver unless
        # it names its own URL.
        declared = [
            account.model_copy(update={"credentials": {**callback, **account.credentials}})
            if account.provider == "nusasms"
            else account
            for account in self.accounts
        ]
        return [default, *declared]

    @model_validator(mode="after")
    def _heartbeat_outlives_its_interval(self) -> Settings:
        if self.heartbeat_ttl_s < 3 * self.heartbeat_interval_s:
            raise ValueError("heartbeat_ttl_s must be at least 3 heartbeat intervals")
        return self

    @field_validator(*_PER_PRIORITY_DEFAULTS, mode="after")
    @classmethod
    def _per_priority(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priorities {unknown} (known: {', '.join(PRIORITIES)})")
        assert info.field_name is not None
        least = 1 if info.field_name == "retry_max_attempts" else 0
        if any(v < least for v in value.values()):
            raise ValueError(f"values must be at least {least}")
        return {**_PER_PRIORITY_DEFAULTS[info.field_name], **value}

    @field_validator("balance_thresholds")
    @classmethod
    def _known_types(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(BALANCE_TYPES))
        if unknown:
            raise ValueError(f"unknown balance types {unknown} (known: {', '.join(BALANCE_TYPES)})")
        return value


def load_settings() -> Settings:
    """Read the environment (and ``.env``) once."""
    return Settings()
