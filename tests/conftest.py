"""Fixtures live in their own modules, loaded here as plugins (never `from conftest import`)."""

from __future__ import annotations

pytest_plugins = ["fixtures_images", "fixtures_stack", "fixtures_db"]
