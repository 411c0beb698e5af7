"""Attacks and bad days of issue 12, each a test that failed before its fix."""
