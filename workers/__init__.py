"""Celery workers: thin tasks that call actions. A task about rows gets their ids (one id,
or the list a publisher batched), never objects; a periodic task gets nothing."""
