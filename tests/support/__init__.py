"""Helpers shared by the tests: real servers and real worker processes."""
