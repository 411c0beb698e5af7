"""Pure domain logic: no Flask, database or Celery imports."""
