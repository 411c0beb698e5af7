"""Tasks for audit log entries and notifications."""
