"""Celery settings; the broker comes from REDIS_URL (unset: tasks run in-process)."""
import os

from kombu import Exchange, Queue

from web.config import redis_ssl_options

_redis_url = os.environ.get("REDIS_URL", "").strip() or None

broker_url = _redis_url or "memory://"
broker_use_ssl = redis_ssl_options(_redis_url)
result_backend = None
task_ignore_result = True
# Embedded mode: no broker, each task runs where it is enqueued.
task_always_eager = _redis_url is None
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
# A task taken by a worker that died is handed out again after this many seconds.
broker_transport_options = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600"))
}
broker_connection_retry_on_startup = True
worker_send_task_events = True
task_send_sent_event = True

# Each queue with its own exchange and key: two queues bound to one key would each get a copy.
task_queues = (
    Queue("automation", Exchange("automation", type="direct"), routing_key="automation"),
    Queue("light", Exchange("light", type="direct"), routing_key="light"),
)
task_default_queue = "light"
task_default_exchange = "light"
task_default_routing_key = "light"
task_routes = {
    "workers.tasks.process_customer_message": {"queue": "automation"},
    "workers.tasks.*": {"queue": "light"},
}

beat_schedule = {
    "sweep-pending-automation": {
        "task": "workers.tasks.sweep_pending_automation",
        "schedule": 30.0,
    },
    "sweep-pending-audit-logs": {
        "task": "workers.tasks.sweep_pending_audit_logs",
        "schedule": 30.0,
    },
    "remind-escalations": {
        "task": "workers.tasks.remind_escalations",
        "schedule": 60.0,
    },
    "delete-unsent-attachments": {
        "task": "workers.tasks.delete_unsent_attachments",
        "schedule": 3600.0,
    },
    "purge-expired-revocations": {
        "task": "workers.tasks.purge_expired_revocations",
        "schedule": 3600.0,
    },
}
