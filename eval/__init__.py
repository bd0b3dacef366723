"""Evaluation suites, metrics and reports (issue 7)."""
