"""Prompts and canned customer-facing messages, per language (issue 4)."""
