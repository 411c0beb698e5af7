"""Plumbing the domain verbs in ``actions`` stand on: task publishing and the like."""
