"""Composition root: settings, CLI and wiring."""
