"""pytest plugin (entry point pytest11): a fresh database per test from the CI image's template.

    pip install cidb          # core only: psycopg, psycopg-pool and this plugin
    def test_x(cidb_pool, cidb_tenant):
        with with_tenant(cidb_pool, cidb_tenant.tenant_id) as conn: ...

Where the server is comes from the environment, as Settings.from_env reads it (CI_DB_HOST,
CI_DB_PORT, POSTGRES_DB, the role passwords) plus CI_TEST_PASSWORD for ci_test, the CI
image's cloning role (docs/ci.md). Nothing runs unless a test asks for a fixture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from cidb import clones
from cidb.pool import build_pool
from cidb.settings import Settings


@dataclass(frozen=True)
class Tenant:
    """A tenant and its one project, made as ci_admin in the test's own database."""

    tenant_id: uuid.UUID
    project_id: uuid.UUID
    slug: str


@pytest.fixture(scope="session")
def cidb_settings() -> Settings:
    """The server the clones live on, from the environment (override to point elsewhere)."""
    return Settings.from_env()


@pytest.fixture(scope="session")
def cidb_clones(cidb_settings: Settings) -> Iterator[clones.ClonePool]:
    """Clones made ahead by a background thread, one pool per session (per xdist worker): a test
    takes a ready one instead of waiting for CREATE DATABASE. CIDB_READY_CLONES sets how many
    are kept ready (default 2)."""
    value = os.environ.get("CIDB_READY_CLONES", "2")
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"CIDB_READY_CLONES={value!r}: a whole number of clones, 1 or more")
    ready = int(value)
    with clones.ClonePool(cidb_settings, ready=ready) as pool:
        yield pool


@pytest.fixture
def cidb_database(cidb_clones: clones.ClonePool) -> Iterator[Settings]:
    """A fresh clone of the migrated template for this test; Settings pointing at it. Dropped
    after the test, in the background (a warning if a session of the test still holds it)."""
    clone = cidb_clones.take()
    try:
        yield clone
    finally:
        cidb_clones.give_back(clone.database)


@pytest.fixture
def cidb_pool(cidb_database: Settings) -> Iterator[ConnectionPool]:
    """A cidb.pool pool as ci_app on the test's database (direct: PgBouncer knows no clones)."""
    pool = build_pool(cidb_database, kind="worker", role="ci_app", pooled=False, min_size=0)
    pool.open(wait=True)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def cidb_tenant(cidb_database: Settings) -> Tenant:
    """A tenant with one project in the test's database, created as ci_admin."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cidb_database.conninfo("ci_admin"), autocommit=True) as conn:
        row = conn.execute(
            "WITH t AS (INSERT INTO public.tenants (name, slug) VALUES (%s, %s) RETURNING id)"
            " INSERT INTO public.projects (tenant_id, name) SELECT id, 'default' FROM t"
            " RETURNING tenant_id, id",
            (f"Tenant {slug}", slug),
        ).fetchone()
    assert row is not None
    return Tenant(tenant_id=row[0], project_id=row[1], slug=slug)
