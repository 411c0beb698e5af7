"""The domain: the only code that writes rows, enqueues tasks or emits events."""
