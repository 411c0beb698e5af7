"""Plain-function business logic (no Flask, DB or Celery)."""
