"""End-to-end tests: the real web process and a Celery worker, talking through Redis."""
