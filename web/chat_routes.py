"""Chat REST routes (prefix /api/chat)."""
from apiflask import APIBlueprint

bp = APIBlueprint("chat", __name__, url_prefix="/api/chat", tag="Chat")
