"""Roles and row-level security: isolation that holds when the application has a bug."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from support.catalog import rls_problems
from support.tenantdata import (
    MUTABLE_COLUMN,
    TABLES,
    insert,
    made_tenants,
    new_row,
    tenant_column,
)

Connect = Callable[..., psycopg.Connection]
REFUSED = (errors.InsufficientPrivilege,)  # RLS WITH CHECK failures are SQLSTATE 42501 too


@pytest.fixture(scope="module")
def tenants(settings, db) -> Iterator[dict[str, dict[str, Any]]]:
    """Tenants A and B with one row in every table each.

    Removed afterwards by the superuser: audit_logs are append-only even for ci_admin.
    """
    with made_tenants(settings, db, 2) as (a, b):
        yield {"a": a, "b": b}


def as_tenant(conn: psycopg.Connection, tenant: Any) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


def admin_row_exists(connect: Connect, table: str, row_id: Any, column: str | None = None) -> Any:
    admin = connect("admin")
    what = sql.Identifier(column) if column else sql.SQL("1")
    row = admin.execute(
        sql.SQL("SELECT {} FROM public.{} WHERE id = %s").format(what, sql.Identifier(table)),
        (row_id,),
    ).fetchone()
    return row[0] if row and column else row is not None


def test_every_table_has_forced_rls_and_a_policy_per_command(connect: Connect) -> None:
    """Catalog check: all application tables have RLS enabled, forced, and full policies."""
    conn = connect("admin")
    assert rls_problems(conn) == {}
    assert conn.execute(
        "SELECT count(*) FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
        " AND NOT relispartition"
    ).fetchone()[0] == len(TABLES)


def test_catalog_check_catches_a_table_without_rls(settings) -> None:
    """Fixture: a table added without RLS (inside a rolled-back transaction) is reported."""
    with psycopg.connect(settings.conninfo("migrator")) as conn:
        conn.execute("CREATE TABLE public.rls_probe_unprotected (tenant_id uuid)")
        conn.execute("CREATE TABLE public.rls_probe_no_policy (tenant_id uuid)")
        conn.execute("ALTER TABLE public.rls_probe_no_policy ENABLE ROW LEVEL SECURITY")
        problems = rls_problems(conn)
        conn.rollback()
    assert problems["rls_probe_unprotected"][:2] == ["RLS not enabled", "RLS not forced"]
    assert problems["rls_probe_no_policy"] == [
        "RLS not forced",
        "no policy for commands ['r', 'a', 'w', 'd']",
    ]
    assert set(problems) == {"rls_probe_unprotected", "rls_probe_no_policy"}


ROLES = ["app", "readonly"]
CASES = [(t, r) for t in TABLES for r in ROLES]
IDS = [f"{t}-{r}" for t, r in CASES]


@pytest.mark.parametrize(("table", "role"), CASES, ids=IDS)
def test_select_sees_only_own_tenant(connect: Connect, tenants, table: str, role: str) -> None:
    """SELECT as tenant A returns A's row and none of B's."""
    conn = connect(role, autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    col = sql.Identifier(tenant_column(table))
    owners = {
        r[0]
        for r in conn.execute(
            sql.SQL("SELECT {} FROM public.{}").format(col, sql.Identifier(table))
        )
    }
    assert owners == {tenants["a"]["tenants"]}
    hit = conn.execute(
        sql.SQL("SELECT count(*) FROM public.{} WHERE id = %s").format(sql.Identifier(table)),
        (tenants["b"][table],),
    ).fetchone()[0]
    assert hit == 0
    conn.rollback()


@pytest.mark.parametrize(("table", "role"), CASES, ids=IDS)
def test_insert_for_other_tenant_is_refused(
    connect: Connect, tenants, table: str, role: str
) -> None:
    """INSERT of a row belonging to tenant B, while acting as A, is refused."""
    conn = connect(role, autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    with pytest.raises(REFUSED):
        insert(conn, table, new_row(table, tenants["b"]))
    conn.rollback()


@pytest.mark.parametrize(("table", "role"), CASES, ids=IDS)
def test_update_of_other_tenant_changes_nothing(
    connect: Connect, tenants, table: str, role: str
) -> None:
    """UPDATE aimed at B's row, as A, touches nothing (or is refused outright)."""
    conn = connect(role, autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    column = MUTABLE_COLUMN[table]
    before = admin_row_exists(connect, table, tenants["b"][table], column)
    query = sql.SQL("UPDATE public.{} SET {} = 'hacked' WHERE id = %s").format(
        sql.Identifier(table), sql.Identifier(column)
    )
    try:
        assert conn.execute(query, (tenants["b"][table],)).rowcount == 0
        conn.commit()
    except REFUSED:
        conn.rollback()
    assert admin_row_exists(connect, table, tenants["b"][table], column) == before


@pytest.mark.parametrize(("table", "role"), CASES, ids=IDS)
def test_delete_of_other_tenant_removes_nothing(
    connect: Connect, tenants, table: str, role: str
) -> None:
    """DELETE aimed at B's row, as A, removes nothing (or is refused outright)."""
    conn = connect(role, autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    query = sql.SQL("DELETE FROM public.{} WHERE id = %s").format(sql.Identifier(table))
    try:
        assert conn.execute(query, (tenants["b"][table],)).rowcount == 0
        conn.commit()
    except REFUSED:
        conn.rollback()
    assert admin_row_exists(connect, table, tenants["b"][table])


@pytest.mark.parametrize(("table", "role"), CASES, ids=IDS)
def test_own_row_cannot_move_to_other_tenant(
    connect: Connect, tenants, table: str, role: str
) -> None:
    """UPDATE of A's own row to carry B's tenant id is refused."""
    conn = connect(role, autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    target = uuid.uuid4() if table == "tenants" else tenants["b"]["tenants"]
    query = sql.SQL("UPDATE public.{} SET {} = %s WHERE id = %s").format(
        sql.Identifier(table), sql.Identifier(tenant_column(table))
    )
    with pytest.raises(REFUSED):
        conn.execute(query, (target, tenants["a"][table]))
    conn.rollback()
    assert (
        admin_row_exists(connect, table, tenants["a"][table], tenant_column(table))
        == (tenants["a"]["tenants"])
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("setting", [None, ""], ids=["unset", "empty-after-earlier-tx"])
def test_no_tenant_reads_nothing_and_writes_nothing(
    connect: Connect, tenants, role: str, setting: str | None
) -> None:
    """Without a tenant (or with the '' a pooled session keeps) reads see 0 rows, writes fail."""
    conn = connect(role, autocommit=False)
    if setting == "":
        as_tenant(conn, tenants["a"]["tenants"])
        conn.commit()  # the setting now reads as '' in this session
        assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone() == ("",)
    for table in TABLES:
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(table))
        ).fetchone()[0]
        assert count == 0, table
    with pytest.raises(REFUSED):
        insert(conn, "projects", new_row("projects", tenants["a"]))
    conn.rollback()


def test_admin_sees_every_tenant(connect: Connect, tenants) -> None:
    """ci_admin (BYPASSRLS) reads both tenants' rows without any tenant set."""
    admin = connect("admin")
    for table in TABLES:
        ids = [tenants["a"][table], tenants["b"][table]]
        found = admin.execute(
            sql.SQL("SELECT count(*) FROM public.{} WHERE id = ANY(%s)").format(
                sql.Identifier(table)
            ),
            (ids,),
        ).fetchone()[0]
        assert found == 2, table


@pytest.mark.parametrize("role", ["ci_app", "ci_readonly"])
def test_app_roles_are_unprivileged(connect: Connect, role: str) -> None:
    """Not superuser, no BYPASSRLS, no CREATEROLE/CREATEDB, own nothing."""
    admin = connect("admin")
    attrs = admin.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
        " WHERE rolname = %s",
        (role,),
    ).fetchone()
    assert attrs == (False, False, False, False)
    owned = admin.execute(
        "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
        " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
        " + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)"
        " + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
        " FROM pg_roles r WHERE rolname = %s",
        (role,),
    ).fetchone()[0]
    assert owned == 0


@pytest.mark.parametrize("role", ["app", "readonly"])
@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE public.evil (id int)",
        "CREATE SCHEMA evil",
        "CREATE TEMP TABLE evil (id int)",
        "CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ],
)
def test_app_roles_cannot_create_objects(connect: Connect, role: str, ddl: str) -> None:
    """CREATE of any kind is refused to ci_app and ci_readonly."""
    conn = connect(role)
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(ddl)


@pytest.mark.parametrize("role", ["app", "readonly"])
@pytest.mark.parametrize(
    "target",
    ["postgres", "ci_owner", "ci_admin", "ci_migrator", "ci_auth_lookup", "pgbouncer_auth"],
)
def test_app_roles_cannot_set_role(connect: Connect, role: str, target: str) -> None:
    """SET ROLE to any privileged role is refused."""
    conn = connect(role)
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(target)))


def test_audit_logs_are_append_only_for_the_app(connect: Connect, tenants) -> None:
    """ci_app may INSERT audit_logs but never UPDATE or DELETE them, even its own."""
    conn = connect("app", autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    insert(conn, "audit_logs", new_row("audit_logs", tenants["a"]))
    for statement in ("UPDATE audit_logs SET action = 'x'", "DELETE FROM audit_logs"):
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)
        conn.rollback()
        as_tenant(conn, tenants["a"]["tenants"])


def test_public_has_no_privilege_on_our_objects(connect: Connect) -> None:
    """PUBLIC holds no grant on our tables, functions, types or schema public."""
    admin = connect("admin")
    grants = admin.execute("""
        SELECT count(*) FROM (
          SELECT relacl AS acl FROM pg_class WHERE relnamespace = 'public'::regnamespace
            AND relowner = 'ci_owner'::regrole
          UNION ALL SELECT proacl FROM pg_proc WHERE pronamespace = 'public'::regnamespace
            AND proowner IN ('ci_owner'::regrole, 'ci_auth_lookup'::regrole)
          UNION ALL SELECT typacl FROM pg_type WHERE typnamespace = 'public'::regnamespace
            AND typowner = 'ci_owner'::regrole
          UNION ALL SELECT nspacl FROM pg_namespace WHERE nspname = 'public'
        ) o, LATERAL aclexplode(o.acl) a WHERE a.grantee = 0
    """).fetchone()[0]
    assert grants == 0
    defaults = admin.execute("""
        SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
          AND proowner IN ('ci_owner'::regrole, 'ci_auth_lookup'::regrole) AND proacl IS NULL
    """).fetchone()[0]
    assert defaults == 0


def test_policy_reads_setting_once_per_statement(connect: Connect, tenants) -> None:
    """The plan evaluates the tenant once (an InitPlan), not once per row."""
    conn = connect("app", autocommit=False)
    as_tenant(conn, tenants["a"]["tenants"])
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT * FROM documents"))
    conn.rollback()
    assert "InitPlan" in plan
    assert "current_setting" not in plan
