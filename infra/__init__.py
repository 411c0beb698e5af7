"""Plumbing the domain verbs in ``actions`` stand on; none of it knows a business rule.

- ``tx``: transactions, read snapshots and the work that follows a commit;
- ``jobs``, ``task_publisher``, ``pending_work``: handing work to the Celery workers,
  off the request, with attempts, backoff and the sweep;
- ``message_writer``: the group commit of the send hot path (the rules it applies live in
  ``actions.message_rules``);
- ``presence``, ``rate_limits``: who is connected, and how often one may act (Redis);
- ``storage``: where attachment bytes live;
- ``faq_index``: each process's cache of the businesses' FAQ indexes;
- ``pagination``, ``blocking``: newest-first pages, CPU work off the eventlet hub.
"""
