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

# The ledger is the record of every message; Celery results would only duplicate it.
task_ignore_result = True

task_queues = [Queue(name) for name in QUEUES]
task_default_queue = "wa"
task_routes = (route_task,)

# With the Redis broker an unacknowledged message is handed to another worker once the
# visibility timeout passes. Every countdown we use is far below it (see nusaworker.routing
# MAX_COUNTDOWN_S); long delays live in the ledger's schedule, swept by beat.
broker_transport_options = {
    "visibility_timeout": 3600,
    # Priorities inside one queue: 0 first. OTPs have their own queue; inside a channel queue
    # "normal" (3) overtakes "bulk" (6).
    "priority_steps": [0, 3, 6, 9],
    "queue_order_strategy": "priority",
    "sep": ":",
}
broker_connection_retry_on_startup = True
worker_cancel_long_running_tasks_on_connection_loss = True
worker_send_task_events = False
task_send_sent_event = False
