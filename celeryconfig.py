"""Celery settings that do not depend on the deployment.

The broker, eager mode and visibility timeout come from ``Settings`` in
``workers.celery_app.celery_init_app``, the one place that decides them.
"""
from kombu import Exchange, Queue

from workers import task_names as names

result_backend = None
task_ignore_result = True
task_eager_propagates = False

task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# A task is acknowledged only after it ran, and a worker lost mid-task hands it back,
# so a crash delays work but never drops it; tasks are idempotent for the rerun.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
# A broker that stops answering fails a publish or a poll after these many seconds (then
# it is retried) instead of hanging the process that waits on it.
broker_transport_options = {
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
}
broker_connection_retry_on_startup = True
# Task events (received, started, succeeded: three Redis publishes per task) only while
# Flower runs: it turns them on in the workers itself (its --enable_events, on by default).
worker_send_task_events = False
# No "task-sent" event per publish: it doubled the broker traffic of every send. Flower
# still shows every task from the workers' received/started/succeeded events.
task_send_sent_event = False

# Each queue with its own exchange and key: two queues bound to one key would each get a copy.
task_queues = (
    Queue("automation", Exchange("automation", type="direct"), routing_key="automation"),
    Queue("notifications", Exchange("notifications", type="direct"),
          routing_key="notifications"),
    Queue("light", Exchange("light", type="direct"), routing_key="light"),
)
# What a single worker that serves everything listens to (tests, benches, one-box setups).
ALL_QUEUES = ",".join(queue.name for queue in task_queues)
task_default_queue = "light"
task_default_exchange = "light"
task_default_routing_key = "light"
task_routes = {
    names.PROCESS_CUSTOMER_MESSAGES: {"queue": "automation"},
    names.PROCESS_CUSTOMER_MESSAGE: {"queue": "automation"},
    # Notifications have their own queue and worker process: an automation backlog never
    # delays them.
    names.PROCESS_AUDIT_LOG: {"queue": "notifications"},
    # Everything else (sweeps, reminders, clean-ups) goes to the default queue, "light".
}
# Tasks still queued under a former name go where the task goes today.
task_routes.update({former: task_routes[current]
                    for former, current in names.FORMER_NAMES.items() if current in task_routes})

beat_schedule = {
    "sweep-pending-automation": {"task": names.SWEEP_PENDING_AUTOMATION, "schedule": 30.0},
    "sweep-pending-audit-logs": {"task": names.SWEEP_PENDING_AUDIT_LOGS, "schedule": 30.0},
    "remind-escalations": {"task": names.REMIND_ESCALATIONS, "schedule": 60.0},
    "delete-unsent-attachments": {"task": names.DELETE_UNSENT_ATTACHMENTS, "schedule": 3600.0},
    "purge-expired-revocations": {"task": names.PURGE_EXPIRED_REVOCATIONS, "schedule": 3600.0},
}
