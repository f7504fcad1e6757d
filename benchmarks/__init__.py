"""Benchmarks that print figures (speed targets are checked here, not by timed tests)."""
