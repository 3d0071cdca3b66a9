"""Run by tests/test_ci_mode.py with pytest-xdist -n 2: the cidb.testing plugin as a user has it.

Both tests write the same row (a project of the same name) and then wait until the other has
written too, so each checks its isolation while the other's rows exist; ci_admin (BYPASSRLS)
looks, so RLS cannot be what hides the other test's rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from cidb.containers import wait_until
from cidb.pool import with_tenant
from cidb.settings import Settings
from cidb.testing import Tenant

BARRIER = Path(os.environ["CIDB_PLUGIN_BARRIER"])
NAME = "the same project in both tests"


@pytest.mark.parametrize("worker", ["one", "two"])
def test_same_rows_in_parallel_never_meet(
    worker: str, cidb_database: Settings, cidb_pool: ConnectionPool, cidb_tenant: Tenant
) -> None:
    """Each test's clone holds its own tenant and its projects only, whatever the other wrote."""
    with with_tenant(cidb_pool, cidb_tenant.tenant_id) as conn:
        conn.execute(
            "INSERT INTO public.projects (tenant_id, name) VALUES (%s, %s)",
            (cidb_tenant.tenant_id, NAME),
        )
    (BARRIER / worker).write_text(cidb_database.database)
    other = "two" if worker == "one" else "one"
    wait_until(lambda: (BARRIER / other).exists(), 120, lambda: f"{other} never wrote")
    assert (BARRIER / other).read_text() != cidb_database.database
    with psycopg.connect(cidb_database.conninfo("ci_admin")) as admin:
        rows = admin.execute("SELECT tenant_id, name FROM public.projects ORDER BY name").fetchall()
        tenants = admin.execute("SELECT id FROM public.tenants").fetchall()
    assert rows == [(cidb_tenant.tenant_id, "default"), (cidb_tenant.tenant_id, NAME)]
    assert tenants == [(cidb_tenant.tenant_id,)]
