"""Fixtures live in their own modules, loaded here as plugins (never `from conftest import`)."""

from __future__ import annotations

pytest_plugins = [
    "fixtures_images",
    "fixtures_stack",
    "fixtures_db",
    "fixtures_s3",
    "fixtures_metrics",
    "fixtures_ha",
]
# Run by tests/test_ci_mode.py in a pytest of its own (pytest-xdist, the plugin as users have it).
collect_ignore = ["plugin_suite"]
