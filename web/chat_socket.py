"""Chat socket events."""
