"""Automation REST routes."""
from apiflask import APIBlueprint

bp = APIBlueprint("automation", __name__, url_prefix="/api/chat", tag="Automation")
