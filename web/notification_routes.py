"""Notifications REST routes."""
from apiflask import APIBlueprint

bp = APIBlueprint("notifications", __name__, url_prefix="/api", tag="Notifications")
