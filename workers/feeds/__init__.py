"""Registered feeds and sitemaps: their schedule, polls, outcomes, registry and discovery."""
