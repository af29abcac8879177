"""Shared CLI helpers for every command: the common options (``options``) and output folders /
full-disk messages (``outputs``)."""
