"""The time-partitioned log tables (issue 17): pg_partman sets, pg_cron's maintenance as
ci_partman, tenant isolation on every partition, the default partition and its report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from support.cli import cidb
from support.docker import Container
from support.tenantdata import made_tenants

from cidb.containers import wait_until
from cidb.partitions import LOG_TABLES
from cidb.roles import login_roles
from cidb.settings import Settings

Connect = Callable[..., psycopg.Connection]
FAR_PAST = datetime(1999, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)
# The spec's (and docs/schema.md's) indexes, now partitioned: each must exist on the parent and
# have an attached copy on every partition.
SPEC_INDEXES = {
    "query_logs": ["query_logs_tenant_project_idx", "query_logs_created_at_idx"],
    "usage_events": ["usage_events_tenant_created_at_idx", "usage_events_unreported_idx"],
    "audit_logs": ["audit_logs_tenant_idx", "audit_logs_created_at_idx", "audit_logs_action_idx"],
}


def partitions(conn: psycopg.Connection, table: str) -> list[str]:
    """TABLE's partitions (the default one included), by name."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass ORDER BY 1",
        (f"public.{table}",),
    ).fetchall()
    return [r[0] for r in rows]


def as_tenant(conn: psycopg.Connection, tenant: Any) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


def test_log_tables_are_range_partitioned_on_created_at_by_pg_partman(connect: Connect) -> None:
    """Each is a partitioned table on created_at, monthly, with retention and a default."""
    conn = connect("migrator")
    for table in LOG_TABLES:
        strategy, key = conn.execute(
            "SELECT p.partstrat, pg_get_partkeydef(p.partrelid) FROM pg_partitioned_table AS p"
            " WHERE p.partrelid = %s::regclass",
            (f"public.{table}",),
        ).fetchone()
        assert (strategy, key) == ("r", "RANGE (created_at)"), table
        assert f"{table}_default" in partitions(conn, table)
    config = dict(
        conn.execute(
            "SELECT parent_table, (partition_interval, retention, retention_keep_table,"
            " infinite_time_partitions)::text FROM partman.part_config"
        ).fetchall()
    )
    assert config == {
        "public.query_logs": '("1 mon","6 months",f,t)',
        "public.usage_events": '("1 mon","25 months",f,t)',
        "public.audit_logs": '("1 mon","36 months",f,t)',
    }


@pytest.mark.parametrize("table", LOG_TABLES)
def test_spec_keys_and_indexes_exist_on_the_parent_and_every_partition(
    connect: Connect, table: str
) -> None:
    """The primary key is (id, created_at); every spec index is on the parent and each partition."""
    conn = connect("migrator")
    pkey = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
        (f"{table}_pkey",),
    ).fetchone()
    assert pkey == ("PRIMARY KEY (id, created_at)",)
    for index in [f"{table}_pkey", *SPEC_INDEXES[table]]:
        attached = conn.execute(
            "SELECT count(*) FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = %s::regclass AND c.relkind = 'i'",
            (f"public.{index}",),
        ).fetchone()[0]
        assert attached == len(partitions(conn, table)), index


@pytest.fixture(scope="module")
def spread(settings: Settings, db: Container) -> Iterator[dict[str, dict[str, Any]]]:
    """Tenants A and B, each with log rows in a premade partition and in the default one."""
    with made_tenants(settings, db, 2) as made:
        data = dict(zip("ab", made, strict=True))
        with psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin:
            for ids in made:
                for when in (FAR_PAST, FAR_FUTURE):
                    admin.execute(
                        "INSERT INTO public.query_logs (tenant_id, project_id, query, created_at)"
                        " VALUES (%s, %s, 'far', %s)",
                        (ids["tenants"], ids["projects"], when),
                    )
                    admin.execute(
                        "INSERT INTO public.usage_events (tenant_id, event_type, quantity, unit,"
                        " created_at) VALUES (%s, 'query', 1, 'request', %s)",
                        (ids["tenants"], when),
                    )
        # audit_logs.created_at is the server's (column grants): back-dated rows come from the
        # owner, with the tenant set.
        with psycopg.connect(settings.conninfo("migrator"), autocommit=True) as owner:
            for ids in made:
                with owner.transaction():
                    as_tenant(owner, ids["tenants"])
                    for when in (FAR_PAST, FAR_FUTURE):
                        owner.execute(
                            "INSERT INTO public.audit_logs (tenant_id, action, resource_type,"
                            " created_at) VALUES (%s, 'far', 'test', %s)",
                            (ids["tenants"], when),
                        )
        yield data


def relations(conn: psycopg.Connection) -> list[str]:
    return [name for table in LOG_TABLES for name in (table, *partitions(conn, table))]


@pytest.mark.parametrize("role", [r.name for r in login_roles()])
def test_no_login_role_reaches_another_tenants_log_rows_anywhere(
    role: str, connect: Connect, spread: dict[str, dict[str, Any]]
) -> None:
    """As every login role, tenant A set: parents, partitions and defaults show no row of B.

    ci_admin (BYPASSRLS, cross-tenant by design) is held to the partitions only: it reads the
    parents, never a partition."""
    listing = connect("migrator")
    names = relations(listing)
    conn = connect(role, autocommit=False)
    other = spread["b"]["tenants"]
    reached: dict[str, str] = {}
    for name in names:
        if role == "ci_admin" and name in LOG_TABLES:
            continue
        try:
            with conn.transaction():
                as_tenant(conn, spread["a"]["tenants"])
                rows = conn.execute(
                    sql.SQL("SELECT count(*) FROM public.{} WHERE tenant_id = %s").format(
                        sql.Identifier(name)
                    ),
                    (other,),
                ).fetchone()[0]
            if rows:
                reached[name] = f"{rows} row(s)"
        except errors.InsufficientPrivilege:
            conn.rollback()
    assert reached == {}


def test_partitions_grant_nothing_and_force_the_tenant_policy(connect: Connect) -> None:
    """No role but the owner holds a privilege on a partition; each forces the parent's policy."""
    conn = connect("migrator")
    wrong = conn.execute(
        "SELECT c.relname, c.relforcerowsecurity, c.relacl::text FROM pg_inherits AS i"
        " JOIN pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = ANY(%s::regclass[])"
        " AND (NOT c.relforcerowsecurity"
        "      OR EXISTS (SELECT FROM aclexplode(c.relacl) AS a WHERE a.grantee <> c.relowner)"
        "      OR NOT EXISTS (SELECT FROM pg_policy AS p WHERE p.polrelid = c.oid"
        "                     AND p.polname = 'tenant_isolation'))",
        ([f"public.{t}" for t in LOG_TABLES],),
    ).fetchall()
    assert wrong == []


def test_far_past_and_far_future_rows_land_in_the_default_partition(
    db: Container, spread: dict[str, dict[str, Any]]
) -> None:
    """1999 and 2999 are outside the premade range: both rows of each table are in its default."""
    tenant = spread["a"]["tenants"]
    for table in LOG_TABLES:
        where = db.psql(
            f"SELECT string_agg(DISTINCT tableoid::regclass::text, ',') FROM public.{table}"
            f" WHERE tenant_id = '{tenant}' AND created_at IN ('{FAR_PAST}', '{FAR_FUTURE}')"
        )
        assert where == f"{table}_default", table


def test_cidb_partitions_reports_rows_in_the_default_partitions(
    settings: Settings, spread: dict[str, dict[str, Any]]
) -> None:
    """`cidb partitions` (as ci_monitor) names each default partition's rows and exits 1."""
    env = {"CI_DB_PORT": str(settings.port), "CI_DB_POOL_PORT": str(settings.pool_port)}
    command = cidb()["partitions"].with_env(**env)
    last = ""

    def reported() -> bool:
        nonlocal last
        code, out, err = command.run(retcode=None, timeout=60)
        last = out + err
        # Statistics reach ci_monitor once the writers' sessions flushed them (seconds).
        return code == 1 and all(
            _default_rows(out, t) >= 4 and f"in {t}_default" in out for t in LOG_TABLES
        )

    wait_until(reported, 120, lambda: f"cidb partitions never reported the rows:\n{last}")


def _default_rows(out: str, table: str) -> int:
    line = next(line for line in out.splitlines() if line.startswith(f"{table}: "))
    return int(line.rsplit("default rows: ", 1)[1])


def test_maintenance_job_runs_as_ci_partman_which_reads_no_table(
    db: Container, connect: Connect
) -> None:
    """pg_cron's one job: run_partition_maintenance() as ci_partman, which holds no table grant."""
    assert db.psql("SELECT jobname, username, command, database FROM cron.job") == (
        "ci-db-partition-maintenance|ci_partman|SELECT public.run_partition_maintenance()"
        "|contextinject"
    )
    assert (
        db.psql(
            "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb"
            " OR rolpassword IS NOT NULL"
            " FROM pg_authid WHERE rolname = 'ci_partman'"
        )
        == "f"
    )
    assert (
        db.psql(
            "SELECT count(*) FROM pg_class AS c WHERE c.relnamespace IN"
            " ('public'::regnamespace, 'partman'::regnamespace) AND c.relkind IN ('r', 'p')"
            " AND has_table_privilege('ci_partman', c.oid,"
            " 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')"
        )
        == "0"
    )
    assert (
        db.psql(
            "SELECT string_agg(p.oid::regprocedure::text, ',') FROM pg_proc AS p"
            " WHERE p.pronamespace IN ('public'::regnamespace, 'partman'::regnamespace,"
            " 'cron'::regnamespace)"
            " AND has_function_privilege('ci_partman', p.oid, 'EXECUTE')"
        )
        == "run_partition_maintenance()"
    )
    assert db.psql("SELECT pg_has_role('ci_partman', 'ci_owner', 'USAGE')") == "f"


def test_nobody_logs_in_as_ci_partman(settings: Settings) -> None:
    """pg_hba rejects ci_partman over TCP whatever the password (pg_cron needs no client login)."""
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
        psycopg.connect(
            host=settings.host,
            port=settings.port,
            dbname=settings.database,
            user="ci_partman",
            password="anything",
            connect_timeout=10,
        )


@pytest.mark.parametrize("role", [r.name for r in login_roles()])
def test_no_login_role_can_schedule_a_cron_job(role: str, connect: Connect) -> None:
    """Only the superuser schedules: no login role may call cron.schedule, for itself or others."""
    conn = connect(role)
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SELECT cron.schedule('probe', '* * * * *', 'SELECT 1')")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(
            "SELECT cron.schedule_in_database('probe', '* * * * *', 'SELECT 1',"
            " 'contextinject', 'postgres', true)"
        )


def test_app_roles_cannot_run_the_maintenance_or_the_owner_tools(connect: Connect) -> None:
    """run_partition_maintenance and the rebuild tools are not for the application roles."""
    for role in ("app", "readonly", "admin"):
        conn = connect(role)
        for call in (
            "SELECT public.run_partition_maintenance()",
            "SELECT public.secure_partitions('public.query_logs')",
            "SELECT public.rebuild_log_table('public.query_logs', false)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(call)
