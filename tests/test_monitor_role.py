"""ci_monitor, the exporters' and cidb top's role: pg_monitor and PgBouncer's SHOW commands,
SCRAM, and no way to read a row of application data."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from psycopg import errors
from support.docker import Container
from support.pgbouncer import console, show

from cidb.settings import Settings

Connect = Callable[..., psycopg.Connection]
# Every application table, Sqitch's registry and the guard's tables (qualified: ci_monitor has
# no USAGE on public, so an unqualified name would only say "does not exist").
TABLES = [
    "public.tenants", "public.users", "public.api_keys", "public.projects", "public.connectors",
    "public.documents", "public.chunks", "public.conversations", "public.query_logs",
    "public.usage_events", "public.audit_logs", "sqitch.changes",
    "pgbouncer.pooled_roles", "ci_guard.login_roles",
]  # fmt: skip


def test_monitor_role_is_pg_monitor_only_with_a_scram_password(db: Container) -> None:
    row = db.psql(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication, rolinherit,"
        " left(rolpassword, 14) FROM pg_authid WHERE rolname = 'ci_monitor'"
    )
    assert row == "f|f|f|f|f|f|SCRAM-SHA-256$"
    granted = db.psql(
        "SELECT string_agg(b.rolname || ':' || m.inherit_option, ',' ORDER BY b.rolname)"
        " FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid"
        " WHERE m.member = 'ci_monitor'::regrole"
    )
    assert granted == "pg_monitor:true"


def test_monitor_role_holds_no_table_privilege(db: Container) -> None:
    """Not one grant on any table in the database, direct or through PUBLIC."""
    granted = db.psql(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm')"
        "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'extensions')"
        "   AND has_table_privilege('ci_monitor', c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE')"
    )
    assert granted == "0"


@pytest.mark.parametrize("table", TABLES)
def test_monitor_role_cannot_read_application_tables(connect: Connect, table: str) -> None:
    conn = connect("monitor")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(f"SELECT * FROM {table} LIMIT 1")


def test_monitor_role_reads_statistics_and_every_statement(connect: Connect) -> None:
    """pg_monitor: other roles' queries in pg_stat_activity and pg_stat_statements."""
    conn = connect("monitor")
    hidden = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query = '<insufficient privilege>'"
    ).fetchone()
    assert hidden == (0,)
    roles = conn.execute(
        "SELECT count(DISTINCT userid) FROM extensions.pg_stat_statements WHERE query IS NOT NULL"
    ).fetchone()
    assert roles is not None and roles[0] >= 2


def test_monitor_role_cannot_use_the_pooler_for_the_database(settings: Settings) -> None:
    """PgBouncer lets ci_monitor into its console only, not into a pool of contextinject."""
    with pytest.raises(psycopg.OperationalError, match=r"reject"):
        psycopg.connect(settings.conninfo("monitor", pooled=True, connect_timeout=10))


def test_monitor_role_sees_pools_but_not_admin_commands(settings: Settings) -> None:
    with console(settings, settings.pool_port, "ci_monitor") as conn:
        assert {row["database"] for row in show(conn, "POOLS")} >= {"contextinject"}
        for command in ("SHOW FDS", "PAUSE contextinject", "RELOAD"):
            with pytest.raises(psycopg.Error):
                conn.execute(command)
