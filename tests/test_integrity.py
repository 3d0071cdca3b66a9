"""Integrity rules the database enforces against a client that holds ci_app's password.

Each attack of security finding 9 is replayed as ci_app and must fail with its SQLSTATE and, for
CHECK constraints, name the rule; beside it the normal path still succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from support.tenantdata import TABLES, insert, made_tenants, new_row

Connect = Callable[..., psycopg.Connection]
KiB = 1024

# tenants columns only ci_admin may change, with a value ci_app would like to set.
ADMIN_ONLY_TENANT_COLUMNS = {
    "plan": "enterprise",
    "settings": '{"max_documents": 1000000000}',
    "stripe_customer_id": "cus_someone_else",
    "slug": "squatted-slug",
    "region": "eu",
}

# (table, column, kind, limit in bytes): the "Size limits" table of docs/schema.md.
SIZE_LIMITS = [
    ("tenants", "settings", "jsonb", 64 * KiB),
    ("api_keys", "scopes", "jsonb", 8 * KiB),
    ("projects", "description", "text", 16 * KiB),
    ("projects", "settings", "jsonb", 64 * KiB),
    ("connectors", "config", "jsonb", 64 * KiB),
    ("connectors", "encrypted_credentials", "bytea", 64 * KiB),
    ("connectors", "sync_state", "jsonb", 1024 * KiB),
    ("connectors", "error_message", "text", 16 * KiB),
    ("documents", "title", "text", 4 * KiB),
    ("documents", "source_url", "text", 8 * KiB),
    ("documents", "access_control", "jsonb", 256 * KiB),
    ("documents", "error_message", "text", 16 * KiB),
    ("chunks", "content", "text", 64 * KiB),
    ("conversations", "messages", "jsonb", 1024 * KiB),
    ("query_logs", "query", "text", 64 * KiB),
    ("query_logs", "response", "text", 256 * KiB),
    ("query_logs", "retrieved_chunks", "jsonb", 256 * KiB),
    ("query_logs", "error_message", "text", 16 * KiB),
    ("audit_logs", "user_agent", "text", 2 * KiB),
]
NONNEGATIVE = [
    ("documents", "size_bytes"),
    ("documents", "chunk_count"),
    ("documents", "token_count"),
    ("chunks", "token_count"),
    ("chunks", "chunk_index"),
    ("query_logs", "result_count"),
    ("query_logs", "prompt_tokens"),
    ("query_logs", "completion_tokens"),
    ("query_logs", "latency_ms"),
    ("usage_events", "quantity"),
]
# usage_events.quantity has had its check since the table was created, under the default name.
NONNEGATIVE_NAME = {("usage_events", "quantity"): "usage_events_quantity_check"}


@pytest.fixture(scope="module")
def tenant(settings, db) -> Iterator[dict[str, Any]]:
    """A tenant with a row in every table (support.tenantdata)."""
    with made_tenants(settings, db, 1) as (ids,):
        yield ids


def as_app(connect: Connect, tenant: dict[str, Any]) -> psycopg.Connection:
    """ci_app in an open transaction with TENANT set (rolled back by the caller or at close)."""
    conn = connect("app", autocommit=False)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant["tenants"]),))
    return conn


def sized(kind: str, size: int) -> Any:
    """A value of KIND whose stored size (jsonb: its JSON text) is exactly SIZE bytes."""
    if kind == "bytea":
        return b"\x00" * size
    if kind == "jsonb":
        return '"' + "x" * (size - 2) + '"'  # a JSON string: the quotes are 2 of the bytes
    return "x" * size


def insert_with(conn: psycopg.Connection, table: str, ids: dict[str, Any], column: str, value: Any):
    """INSERT a fresh valid row of TABLE for the tenant of IDS, with COLUMN set to VALUE."""
    return insert(conn, table, {**new_row(table, ids), column: value})


# -- tenants: billing and plan fields ---------------------------------------------------------
@pytest.mark.parametrize("column", sorted(ADMIN_ONLY_TENANT_COLUMNS))
def test_app_cannot_change_admin_only_tenant_column(connect: Connect, tenant, column: str) -> None:
    """ci_app updating its own tenant's plan, limits, billing id, slug or region gets 42501."""
    conn = as_app(connect, tenant)
    query = sql.SQL("UPDATE public.tenants SET {} = %s WHERE id = %s").format(
        sql.Identifier(column)
    )
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied for table tenants"):
        conn.execute(query, (ADMIN_ONLY_TENANT_COLUMNS[column], tenant["tenants"]))
    conn.rollback()


def test_app_can_still_rename_its_tenant(connect: Connect, tenant) -> None:
    """The display name stays the app's to change, and updated_at still follows."""
    conn = as_app(connect, tenant)
    row = conn.execute(
        "UPDATE public.tenants SET name = 'Renamed' WHERE id = %s"
        " RETURNING name, updated_at = now()",
        (tenant["tenants"],),
    ).fetchall()
    assert row == [("Renamed", True)]
    conn.rollback()


def test_admin_can_still_change_the_plan(connect: Connect, tenant) -> None:
    """Billing tooling (ci_admin) keeps the plan, its limits and the Stripe id."""
    admin = connect("admin", autocommit=False)
    updated = admin.execute(
        "UPDATE public.tenants SET plan = 'enterprise', settings = '{}',"
        " stripe_customer_id = 'cus_x' WHERE id = %s",
        (tenant["tenants"],),
    ).rowcount
    assert updated == 1
    admin.rollback()


# -- audit_logs: id and created_at come from the server ---------------------------------------
@pytest.mark.parametrize("role", ["app", "admin"])
@pytest.mark.parametrize(
    ("column", "value"),
    [("created_at", "2020-01-01T00:00:00Z"), ("id", "00000000-0000-4000-8000-000000000000")],
    ids=["back-dated-created_at", "chosen-id"],
)
def test_audit_row_with_server_column_is_refused(
    connect: Connect, tenant, role: str, column: str, value: str
) -> None:
    """Naming created_at (or id) in an audit INSERT fails with 42501, for ci_app and ci_admin."""
    conn = as_app(connect, tenant) if role == "app" else connect("admin", autocommit=False)
    with pytest.raises(
        errors.InsufficientPrivilege, match="permission denied for table audit_logs"
    ):
        insert_with(conn, "audit_logs", tenant, column, value)
    conn.rollback()


def test_audit_row_gets_the_server_time(connect: Connect, tenant) -> None:
    """An audit INSERT without created_at is stamped with the transaction's now() and an id."""
    conn = as_app(connect, tenant)
    audit_id = insert(conn, "audit_logs", new_row("audit_logs", tenant))
    stamped = conn.execute(
        "SELECT created_at = now() FROM public.audit_logs WHERE id = %s", (audit_id,)
    ).fetchone()
    assert audit_id is not None and stamped == (True,)
    conn.rollback()


# -- counts and sizes are never negative ------------------------------------------------------
@pytest.mark.parametrize(("table", "column"), NONNEGATIVE, ids=[f"{t}.{c}" for t, c in NONNEGATIVE])
def test_negative_count_is_refused_naming_the_rule(
    connect: Connect, tenant, table: str, column: str
) -> None:
    """-1 fails with 23514 and the error names <table>_<column>_nonnegative; 0 is accepted."""
    conn = as_app(connect, tenant)
    assert insert_with(conn, table, tenant, column, 0) is not None
    with pytest.raises(errors.CheckViolation) as refused:
        insert_with(conn, table, tenant, column, -1)
    assert refused.value.sqlstate == "23514"
    expected = NONNEGATIVE_NAME.get((table, column), f"{table}_{column}_nonnegative")
    assert refused.value.diag.constraint_name == expected
    conn.rollback()


# -- every free-text and jsonb column has a byte limit ----------------------------------------
def _writer(connect: Connect, tenant: dict[str, Any], table: str) -> psycopg.Connection:
    # Tenant rows are ci_admin's to write (sign-up); every other table is the app's.
    return connect("admin", autocommit=False) if table == "tenants" else as_app(connect, tenant)


@pytest.mark.parametrize(
    ("table", "column", "kind", "limit"),
    SIZE_LIMITS,
    ids=[f"{t}.{c}" for t, c, _, _ in SIZE_LIMITS],
)
def test_value_over_its_limit_is_refused_naming_the_rule(
    connect: Connect, tenant, table: str, column: str, kind: str, limit: int
) -> None:
    """One byte over the documented limit fails with 23514 naming <table>_<column>_max_bytes."""
    conn = _writer(connect, tenant, table)
    with pytest.raises(errors.CheckViolation) as refused:
        insert_with(conn, table, tenant, column, sized(kind, limit + 1))
    assert refused.value.sqlstate == "23514"
    assert refused.value.diag.constraint_name == f"{table}_{column}_max_bytes"
    conn.rollback()


@pytest.mark.parametrize(
    ("table", "column", "kind", "limit"),
    SIZE_LIMITS,
    ids=[f"{t}.{c}" for t, c, _, _ in SIZE_LIMITS],
)
def test_value_at_its_limit_is_accepted(
    connect: Connect, tenant, table: str, column: str, kind: str, limit: int
) -> None:
    """Exactly the documented limit is still stored."""
    conn = _writer(connect, tenant, table)
    assert insert_with(conn, table, tenant, column, sized(kind, limit)) is not None
    conn.rollback()


def test_every_unbounded_column_has_a_limit(connect: Connect) -> None:
    """No text, jsonb or bytea column of an application table is left without a byte limit."""
    admin = connect("admin")
    columns = admin.execute(
        """
        SELECT c.relname || '.' || a.attname
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(%s)
          AND a.attnum > 0 AND NOT a.attisdropped
          AND a.atttypid IN ('text'::regtype, 'jsonb'::regtype, 'bytea'::regtype)
          AND a.attname <> 'metadata'
        ORDER BY 1
    """,
        (TABLES,),
    ).fetchall()
    assert sorted(name for (name,) in columns) == sorted(f"{t}.{c}" for t, c, _, _ in SIZE_LIMITS)
    validated = admin.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'c' AND convalidated"
        " AND connamespace = 'public'::regnamespace AND conname = ANY(%s)"
        # A partition's copy of its parent's check is not another rule.
        " AND conrelid NOT IN (SELECT oid FROM pg_class WHERE relispartition)",
        ([f"{t}_{c}_max_bytes" for t, c, _, _ in SIZE_LIMITS],),
    ).fetchone()
    assert validated == (len(SIZE_LIMITS),)
