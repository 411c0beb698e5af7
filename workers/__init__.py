"""Celery workers: thin tasks that take ids and call actions."""
