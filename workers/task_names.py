"""The names of the Celery tasks, for code that sends a task by name without importing it.

Each name is the task's module and function (a test checks it). The actions enqueue by
these names, and ``celeryconfig`` routes and schedules by them.
"""

PROCESS_CUSTOMER_MESSAGES = "workers.automation_tasks.process_customer_messages"
PROCESS_CUSTOMER_MESSAGE = "workers.automation_tasks.process_customer_message"
SWEEP_PENDING_AUTOMATION = "workers.automation_tasks.sweep_pending_automation"
REMIND_ESCALATIONS = "workers.automation_tasks.remind_escalations"

PROCESS_AUDIT_LOG = "workers.activity_tasks.process_audit_log"
SWEEP_PENDING_AUDIT_LOGS = "workers.activity_tasks.sweep_pending_audit_logs"

PURGE_EXPIRED_REVOCATIONS = "workers.tasks.purge_expired_revocations"
DELETE_UNSENT_ATTACHMENTS = "workers.tasks.delete_unsent_attachments"

# Names the tasks had before they matched their modules. Still registered, so tasks a
# broker holds under them (queued by an older release, or by beat) still run.
FORMER_NAMES = {
    "workers.tasks.process_customer_message": PROCESS_CUSTOMER_MESSAGE,
    "workers.tasks.sweep_pending_automation": SWEEP_PENDING_AUTOMATION,
    "workers.tasks.remind_escalations": REMIND_ESCALATIONS,
    "workers.tasks.process_audit_log": PROCESS_AUDIT_LOG,
    "workers.tasks.sweep_pending_audit_logs": SWEEP_PENDING_AUDIT_LOGS,
}
