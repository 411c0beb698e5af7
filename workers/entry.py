"""Entry point for `celery -A workers.entry worker|beat` and Flower."""
from web.app import create_app

flask_app = create_app(role="worker")
celery = flask_app.extensions["celery"]
