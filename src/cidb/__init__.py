"""Tooling for ci-db, the ContextInject PostgreSQL 17 + pgvector appliance."""

from __future__ import annotations

__version__ = "0.1.0"
