"""Every Redis key nusaworker writes, and how long each lives — in one place.

All keys hang under one prefix (default ``nw:``) so that a deployment, a test or a benchmark
can share a Redis server with others and clean up exactly what it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "nw:"

# The pacing key only holds "the next free slot" of an account. An absent key means "free
# now", so it may expire as soon as its slot is in the past; a minute is ample and keeps a
# fleet that talked to many accounts from leaving keys behind.
PACE_TTL_S = 60

# The causal gate's keys (turn, queue, waiter liveness, wake lists) describe the account's
# current turn and its waiters; all of them are stale within a lease or a listen period, so
# they may go a minute after the last call. Its "last write" must outlive the 50 ms interval
# only: a key that expired means "free now" here too.
TURN_TTL_S = 60

# A message record lives as long as it is in flight; once it reaches a final state it stays
# readable for a month by default (support questions, reports), then Redis drops it
# (NUSAWORKER_RECORD_RETENTION_DAYS; the ledger takes it as ``retention_s``).
RECORD_FINAL_TTL_S = 30 * 24 * 3600

# An idempotency key answers "already accepted" for a week: longer than any backend retry
# of a producer call, short enough not to grow without bound.
IDEMPOTENCY_TTL_S = 7 * 24 * 3600

# ref_no → message id, for callbacks; callbacks can arrive days after the send.
REF_TTL_S = 30 * 24 * 3600

# -- delivery tracking (nusaworker.tracking) ----------------------------------------------------

# The state-change and inbox streams are capped by length, not by time: a stream is read by
# the hooks dispatcher within seconds, and the cap only bounds memory when no dispatcher runs
# (a fleet without beat). 200,000 entries is several hours of a busy account's events.
EVENTS_MAXLEN = 200_000
INBOX_MAXLEN = 200_000

# A status push for a ref_no the ledger does not know yet is parked until the send task
# records it (normally within seconds). Three days also covers a record stuck in ``unknown``
# that a late answer resolves; a push older than that can no longer find its record.
PARKED_TTL_S = 3 * 24 * 3600

# An inbound message id seen once is ignored when the provider pushes it again; providers
# retry pushes for minutes to hours, a day is ample.
INBOX_SEEN_TTL_S = 24 * 3600

# The poll budget only holds "the next time a poll may start" of an account; like the pacing
# key, an absent key means "free now", so a minute outlives any value still in the future.
POLL_BUDGET_TTL_S = 60
# The slow-delivery failover judges messages sent 5 to 20 minutes ago; a day covers any window
# a setting may choose, and the set is trimmed on every write anyway.
ACCOUNT_SENT_TTL_S = 24 * 3600

# A failed webhook delivery is kept (capped list, newest first) for an operator to inspect.
WEBHOOK_DEAD_MAXLEN = 10_000

# The dead letters (messages that ended rejected, failed or unknown without being sent, or in
# doubt) are a stream an operator reads with `nusaworker dead-letters`. Capped twice: by length
# (~10,000 entries, ~300 bytes each: about 3 MB at most), so that a flood of refusals cannot
# grow it without bound, and by age, trimmed to the record retention on every append: a dead
# letter outliving its record could no longer be looked into or sent again.
DEAD_LETTERS_MAXLEN = 10_000

# -- balances, credit and breakers (nusaworker.credit) ------------------------------------------

# A breaker key (one per account and channel) and the set of message ids held while it is open
# have no TTL: a pause that ended by itself would send the queue back against an account nobody
# fixed, and held ids are drained when the breaker closes. The probe and watch locks live for
# their configured interval (passed by the caller): that is what spaces the runs fleet-wide.

# The last balance snapshot serves `nusaworker balance` and the metrics between two watch
# rounds; a week-old reading is worthless, so it may go after that.
BALANCE_SNAPSHOT_TTL_S = 7 * 24 * 3600

# What the balance watch last saw of each condition (low, expiring). Refreshed every round; it
# must outlive any pause of the watch, or a known low balance would be alerted again.
WATCH_LEVELS_TTL_S = 30 * 24 * 3600


# -- worker liveness and leases (nusaworker.ledger.leases, nusaworker.liveness) ----------------

# A worker's heartbeat key lives settings.heartbeat_ttl_s (default 8 s) and is rewritten every
# settings.heartbeat_interval_s (1 s): its absence is how the fleet learns, within seconds, that
# a worker died holding claims. The TTL is many intervals long so that a live worker that is
# merely slow (GC, a loaded box, a Redis blip) is never declared dead. The lease index, the
# holder registry and a holder's received-task index have no TTL: each entry is removed by the
# step that ends it (a move out of sending, the end of a task, the resolution of a dead holder).

# A worker's heartbeat key holds the queues it consumes (comma-separated), so `nusaworker check`
# can tell "a live consumer on otp" from the heartbeats alone, without a broadcast to the fleet.
# The active beat rewrites its own heartbeat at every tick (at least every
# beat_max_loop_interval, 2 s) with a TTL of a day: its age is that day minus the TTL left, read
# on Redis's clock, so `nusaworker check` can say how long beat has been silent (for a day;
# past that the key is gone and it says "no heartbeat").
BEAT_HEARTBEAT_TTL_S = 24 * 3600

# -- the suppression list (nusaworker.suppression) ----------------------------------------------

# The suppression list's hash and index have no TTL, and neither do their entries: an opt-out
# is a person's standing request (and in many places a legal one) — it ends only when that
# person opts back in (START) or an operator removes it, never because time passed.

# -- phone checks (nusaworker.phonecheck) -------------------------------------------------------

# A phone-check answer's TTL is a setting (NUSAWORKER_PHONE_CHECK_TTL_S, default 7 days; the
# reason is given there). A number taken for a check stays "in flight" this long: asked for
# again meanwhile, it is not queued twice. Past it without an answer (the callback was lost, or
# no callback URL reaches this fleet) it may be queued again. Five minutes covers a check that
# waits in the check queue behind a campaign's batches plus the provider's push delay.
PHONE_CHECK_INFLIGHT_S = 300
# The pending set (numbers waiting for a batch) and the in-flight set have no TTL: each entry
# leaves when it is taken (pending) or answered / overdue (in flight).
# A check id (Producer.check_whatsapp_numbers) names its numbers for as long as their answers
# are cached by default: the id is useless once the answers are gone.
PHONE_CHECK_REQUEST_TTL_S = 7 * 24 * 3600

# -- recurring campaigns (nusaworker.campaigns.recurring) ---------------------------------------

# The definitions and the last run of each have no TTL: a definition stands until it is removed
# (its last-run entry goes with it). A run's claim (one per definition and fire time, SET NX) is
# what makes a run happen once fleet-wide, so it must outlive the time during which that fire
# time can still be due: at most one period of the cron, and never more than the lateness bound
# (recurring.MAX_LATENESS_S, one hour). It lives three periods — slack for beats whose clocks
# disagree — capped here, at twice the lateness bound, so a daily schedule does not keep a key a
# week; a weekly one keeps none longer than two hours.
RECURRING_RUN_TTL_CAP_S = 2 * 3600


# -- campaigns (nusaworker.campaigns) -----------------------------------------------------------

# A campaign's hash, its rows and its window have no TTL while it can still send: a paused
# campaign may be resumed a month later. When it ends (finished or cancelled) they get the
# record retention (NUSAWORKER_RECORD_RETENTION_DAYS), so its report stays readable exactly as
# long as its messages' records.


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def pace(self, account: str) -> str:
        """String: the next free slot of ``account`` (µs, Redis server clock)."""
        return f"{self.prefix}pace:{account}"

    def pace_turn(self, account: str) -> str:
        """Hash: the causal gate's turn of ``account`` (holder, lease, last write; µs, Redis)."""
        return f"{self.prefix}turn:{account}"

    def pace_queue(self, account: str) -> str:
        """Sorted set: callers waiting for the turn of ``account``, OTP first, then FIFO."""
        return f"{self.prefix}turn:{account}:queue"

    def pace_alive(self, account: str) -> str:
        """Sorted set: waiter token → until when (µs) it is known to listen for its wake-up."""
        return f"{self.prefix}turn:{account}:alive"

    def pace_wake(self, account: str) -> str:
        """Prefix of the wake lists of ``account``'s waiters (one list per waiter token)."""
        return f"{self.prefix}turn:{account}:wake:"

    def message(self, message_id: str) -> str:
        """Hash: one message record."""
        return f"{self.prefix}msg:{message_id}"

    def idempotency(self, key: str) -> str:
        """String: message id accepted under a producer's idempotency key."""
        return f"{self.prefix}idem:{key}"

    def ref(self, ref_no: str) -> str:
        """String: message id that the provider knows as ``ref_no``."""
        return f"{self.prefix}ref:{ref_no}"

    @property
    def accepted_index(self) -> str:
        """Sorted set: ids in ``accepted``, scored by when each became (again) eligible to send."""
        return f"{self.prefix}idx:accepted"

    @property
    def retry_index(self) -> str:
        """Sorted set: ids released for a later retry, scored by when the retry is due.

        Beat's release job enqueues what is due (:mod:`nusaworker.tracking.release`). An id is
        only ever added by a release for retry and removed by that job, which drops ids whose
        record moved on meanwhile: no TTL needed, nothing stays longer than its due time.
        """
        return f"{self.prefix}idx:retry"

    @property
    def expiry_index(self) -> str:
        """Sorted set: ids of records with a validity, scored by when it ends.

        Beat expires the records still waiting (``accepted``) once due and drops the others;
        like :attr:`retry_index`, nothing stays past its score, so no TTL.
        """
        return f"{self.prefix}idx:expiry"

    @property
    def sent_index(self) -> str:
        """Sorted set: ids in ``sent``, scored by the time their next status poll is due."""
        return f"{self.prefix}idx:sent"

    @property
    def sent_otp_index(self) -> str:
        """Sorted set: the ``priority="otp"`` part of :attr:`sent_index` (polled first)."""
        return f"{self.prefix}idx:sent:otp"

    @property
    def events(self) -> str:
        """Stream: every state change of a record, and inbound messages (read by the hooks)."""
        return f"{self.prefix}events"

    @property
    def state_counts(self) -> str:
        """Hash: state → how many records are in it, kept by every move in the same atomic step
        (the metrics read it in one HGETALL). No TTL: a record that leaves Redis at the end of
        its retention is not subtracted, so a final state's count is how many records ever
        ended there since the counts began."""
        return f"{self.prefix}ledger:states"

    @property
    def inbox(self) -> str:
        """Stream: inbound messages (WhatsApp, WA Official, SMS) as the receiver stored them."""
        return f"{self.prefix}inbox"

    def inbox_seen(self, channel: str, provider_id: str) -> str:
        """String: set when an inbound message was stored (pushed twice, stored once)."""
        return f"{self.prefix}inbox:seen:{channel}:{provider_id}"

    def parked(self, ref_no: str) -> str:
        """List: status updates (JSON) for a ``ref_no`` the ledger did not know when they came."""
        return f"{self.prefix}parked:{ref_no}"

    @property
    def parked_index(self) -> str:
        """Sorted set: ref_nos with parked updates, scored by when the first one was parked."""
        return f"{self.prefix}idx:parked"

    def poll_budget(self, account: str) -> str:
        """String: the earliest time the next status poll of ``account`` may start (µs)."""
        return f"{self.prefix}pollbudget:{account}"

    def job_lock(self, job: str) -> str:
        """String: the per-run lock of a periodic job (holder's token)."""
        return f"{self.prefix}joblock:{job}"

    @property
    def job_stats(self) -> str:
        """Hash: ``<job>:runs``, ``<job>:skipped``, ``<job>:last_run`` of every periodic job."""
        return f"{self.prefix}jobs"

    def heartbeat(self, holder: str) -> str:
        """String: present while worker ``holder`` is alive (TTL: ``heartbeat_ttl_s``); holds
        the queues it consumes, comma-separated."""
        return f"{self.prefix}hb:{holder}"

    @property
    def beat_heartbeat(self) -> str:
        """String: rewritten by the active beat at every tick (TTL :data:`BEAT_HEARTBEAT_TTL_S`)."""
        return f"{self.prefix}beat:hb"

    @property
    def holders(self) -> str:
        """Set: every worker identity that heartbeats (or did, until its death was resolved)."""
        return f"{self.prefix}holders"

    @property
    def lease_index(self) -> str:
        """Hash: id of each ``sending`` record claimed by a heartbeating worker → its holder."""
        return f"{self.prefix}idx:leases"

    def received(self, holder: str) -> str:
        """Hash: task id → message id of ``send`` tasks worker ``holder`` received, not ended."""
        return f"{self.prefix}received:{holder}"

    def replayed(self, message_id: str) -> str:
        """String: set when a stuck ``accepted`` record was re-enqueued; lives one replay period."""
        return f"{self.prefix}replayed:{message_id}"

    @property
    def dead_letters(self) -> str:
        """Stream: messages that ended rejected, failed or unknown from accepted or sending
        (written by the move itself); read by ``nusaworker dead-letters``."""
        return f"{self.prefix}deadletters"

    @property
    def webhook_dead(self) -> str:
        """List: webhook deliveries that failed for good (JSON), newest first."""
        return f"{self.prefix}webhook:dead"

    @property
    def redbeat_prefix(self) -> str:
        """Key prefix of celery-redbeat's schedule and beat lock (keeps fleets apart)."""
        return f"{self.prefix}redbeat:"

    def breaker(self, account: str, channel: str) -> str:
        """String (JSON): the open breaker of ``channel`` of ``account``; absent when closed."""
        return f"{self.prefix}breaker:{account}:{channel}"

    def held(self, account: str, channel: str) -> str:
        """Set: ids of ``accepted`` records held (parked) while the channel's breaker is open."""
        return f"{self.prefix}held:{account}:{channel}"

    def probe_lock(self, account: str) -> str:
        """String: set while a breaker probe of ``account`` ran within the probe interval."""
        return f"{self.prefix}probe:{account}"

    def watch_lock(self, account: str) -> str:
        """String: set while a balance watch of ``account`` ran within the watch interval."""
        return f"{self.prefix}watchlock:{account}"

    def balance(self, account: str) -> str:
        """String (JSON): the last balance snapshot of ``account``."""
        return f"{self.prefix}balance:{account}"

    def watch_levels(self, account: str) -> str:
        """Hash: condition (``low:wa``, ``expiry:sms`` …) → level the balance watch last saw."""
        return f"{self.prefix}watch:{account}"

    def account_errors(self, account: str, channel: str) -> str:
        """Sorted set: the transient errors ``account`` met sending ``channel`` (score: unix
        time), for failover. Trimmed to the failover window on every write; its TTL is the
        window."""
        return f"{self.prefix}errors:{account}:{channel}"

    def account_sent(self, account: str) -> str:
        """Sorted set: ids of messages ``account`` sent whose delivery its provider reports
        (score: sent time), for the slow-delivery failover. Trimmed to the judged window on
        every write; TTL :data:`ACCOUNT_SENT_TTL_S`."""
        return f"{self.prefix}sent:{account}"

    def account_slow(self, account: str) -> str:
        """String: present while ``account`` delivers too slowly (beat's verdict, with a TTL
        of two assessments, so a stopped beat lets the verdict lapse rather than stick)."""
        return f"{self.prefix}slow:{account}"

    @property
    def fallback_index(self) -> str:
        """Sorted set: ids of messages with a fallback, scored by when it is due (their
        acceptance plus the fallback delay). A hint like the retry index: beat checks each
        record; no TTL, nothing stays past its score plus one run."""
        return f"{self.prefix}idx:fallback"

    @property
    def suppressed(self) -> str:
        """Hash: suppressed number (digits) → JSON ``{source, note, at, channel}``; no TTL."""
        return f"{self.prefix}suppressed"

    @property
    def suppressed_index(self) -> str:
        """Sorted set: the suppressed numbers, scored by when each was added (paging, newest
        first); written with :attr:`suppressed` in one script; no TTL."""
        return f"{self.prefix}suppressed:index"

    def phone_check(self, number: str) -> str:
        """String ``"1"`` / ``"0"``: whether ``number`` (digits) is on WhatsApp; TTL
        ``NUSAWORKER_PHONE_CHECK_TTL_S``."""
        return f"{self.prefix}pc:n:{number}"

    @property
    def phone_check_pending(self) -> str:
        """Sorted set: numbers waiting for a check, scored by when first asked (the linger);
        no TTL (entries leave when a dispatcher takes them)."""
        return f"{self.prefix}pc:pending"

    @property
    def phone_check_inflight(self) -> str:
        """Sorted set: numbers taken for a check and not answered yet, scored by when taken;
        no TTL (entries leave when answered or :data:`PHONE_CHECK_INFLIGHT_S` overdue)."""
        return f"{self.prefix}pc:inflight"

    @property
    def recurring_campaigns(self) -> str:
        """Hash: recurring campaign name → its definition (JSON); no TTL."""
        return f"{self.prefix}recurring"

    @property
    def recurring_last_runs(self) -> str:
        """Hash: recurring campaign name → its latest run (JSON: fire time, outcome, campaign
        id or error); no TTL, removed with the definition."""
        return f"{self.prefix}recurring:last"

    def recurring_run(self, name: str, fire_at: float) -> str:
        """String: the claim of the run of ``name`` due at ``fire_at`` (whole epoch seconds;
        cron fires on whole minutes); TTL three periods, at most
        :data:`RECURRING_RUN_TTL_CAP_S`."""
        return f"{self.prefix}recurring:run:{name}:{int(fire_at)}"

    def phone_check_request(self, check_id: str) -> str:
        """String: the numbers of one check id (JSON list); TTL
        :data:`PHONE_CHECK_REQUEST_TTL_S`."""
        return f"{self.prefix}pc:req:{check_id}"

    def campaign(self, campaign_id: str) -> str:
        """Hash: one campaign — its spec, state, control word (``run``/``pause``/``cancel``, read
        by the claim script), row counts and per-state message counts (``n:<state>``, kept by
        the ledger's scripts); the other campaign keys are this name plus a suffix."""
        return f"{self.campaign_prefix}{campaign_id}"

    @property
    def campaign_prefix(self) -> str:
        """The campaign hash name without the id: handed to the ledger's scripts, which find a
        record's campaign hash from the record's ``campaign`` field."""
        return f"{self.prefix}cmp:"

    def campaign_rows(self, campaign_id: str) -> str:
        """List: the campaign's accepted rows (``row\tdestination\ttext``) in order; the
        dispatcher reads it by position (the hash's ``cursor``), never pops it."""
        return f"{self.campaign(campaign_id)}:rows"

    def campaign_skipped(self, campaign_id: str) -> str:
        """List: the rows not accepted (``row\tproblem\tvalue\treason``), for the report."""
        return f"{self.campaign(campaign_id)}:skipped"

    def campaign_window(self, campaign_id: str) -> str:
        """Set: ids of the campaign's records handed to the broker and not claimed yet (the
        window); a claim refused for a pause puts its id back."""
        return f"{self.campaign(campaign_id)}:window"

    def campaign_lock(self, campaign_id: str) -> str:
        """String: held by the dispatcher run working on the campaign (TTL a few seconds)."""
        return f"{self.campaign(campaign_id)}:lock"

    @property
    def campaign_index(self) -> str:
        """Sorted set: every campaign id, scored by its creation; ended campaigns leave it
        when their hash expires (the listing drops ids whose hash is gone)."""
        return f"{self.prefix}idx:campaigns"

    @property
    def campaign_active(self) -> str:
        """Set: ids of the campaigns the dispatcher visits (scheduled, running, paused);
        a campaign leaves it when it ends."""
        return f"{self.prefix}idx:campaigns:active"
