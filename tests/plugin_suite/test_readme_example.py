"""The README's plugin example, as written there (run by tests/test_ci_mode.py)."""

from cidb.pool import with_tenant


def test_projects_are_per_tenant(cidb_pool, cidb_tenant):
    with with_tenant(cidb_pool, cidb_tenant.tenant_id) as conn:
        assert conn.execute("SELECT count(*) FROM projects").fetchone() == (1,)
