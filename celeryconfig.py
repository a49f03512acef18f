"""Celery settings of the nusaworker fleet (loaded by ``nusaworker/celery.py``).

The broker URL is not here: it comes from ``NUSAWORKER_REDIS_URL`` (see nusaworker.settings),
read once in ``nusaworker/celery.py``.
"""

from kombu import Queue

from nusaworker.routing import QUEUES, route_task

# JSON only: a task payload is a message id and nothing else, and pickle would let anyone who
# can write to the broker run code on the workers.
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]

# A task is acknowledged only after it ran, and handed back if its worker dies mid-task: the
# ledger's claim (accepted → sending) is what stops a redelivered task from sending twice.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# The work is I/O-bound (a task spends its time waiting for its pacing turn and for the
# provider's answer), so a plain `celery -A nusaworker worker` runs the threads pool: one
# process, one gate client, one HTTP connection pool shared by every thread. Eight threads keep
# an account's 20 hits/s busy at the provider's usual 150-200 ms answers. `--pool prefork`
# (and `-c`) still work and stay correct: the gate paces processes exactly as it paces threads.
worker_pool = "threads"
worker_concurrency = 8

# The ledger is the record of every message; Celery results would only duplicate it.
task_ignore_result = True

task_queues = [Queue(name) for name in QUEUES]
task_default_queue = "wa"
task_routes = (route_task,)

# With the Redis broker an unacknowledged message is handed to another worker once the
# visibility timeout passes. That is only a last resort: what a dead worker held comes back
# within seconds through its expired heartbeat (nusaworker.liveness, beat's dead-workers job).
# It stays well above the longest task and every countdown (nusaworker.routing.max_countdown:
# at most a quarter of it); long delays live in the ledger's schedule, swept by beat. The
# fleet's value is settings.visibility_timeout_s (nusaworker/celery.py); this is its default.
broker_transport_options = {
    "visibility_timeout": 600,
    # Priorities inside one queue: 0 first. OTPs have their own queue; inside a channel queue
    # "normal" (3) overtakes "bulk" (6).
    "priority_steps": [0, 3, 6, 9],
    "queue_order_strategy": "priority",
    "sep": ":",
}
broker_connection_retry_on_startup = True
# On a lost broker connection the running sends go on to their end and record it: cancelling
# them (Celery's coming default) would kill a prefork child mid-hit and leave its message in
# doubt. Their messages, restored or redelivered, find the ledger's record already sent.
# tests/integration/test_broker_restart.py: a Redis restart under each pool, every send once.
worker_cancel_long_running_tasks_on_connection_loss = False
worker_send_task_events = False
task_send_sent_event = False

# Beat entries are each feature's own (credit.schedule, tracking.schedule; every entry carries
# options={"expires": …}); nusaworker/celery.py sets them. Their tasks are named
# nusaworker.housekeeping.* / nusaworker.status.* and routed by name.

# Beat runs highly available: celery-redbeat (nusaworker.tracking.scheduler: a subclass that
# outlives a Redis restart) keeps the schedule in Redis and lets one beat at
# a time run it (a Redis lock, extended every tick); more beats can be started, they wait on
# the lock and take over within redbeat_lock_timeout of the active one dying. Its Redis URL
# and key prefix come from the settings (nusaworker/celery.py). Plain
# `celery -A nusaworker beat` runs the whole schedule this way, no flags needed.
beat_scheduler = "nusaworker.tracking.scheduler:RedBeatScheduler"
# Ticks at least this often (the shortest entries run every second anyway); each tick extends
# the lock, and a waiting beat retries the lock at this interval.
beat_max_loop_interval = 2
redbeat_lock_timeout = 10
# No result backend is used (task_ignore_result), so beat's default daily
# "celery.backend_cleanup" entry would only send a no-op task onto the default queue.
result_expires = None
