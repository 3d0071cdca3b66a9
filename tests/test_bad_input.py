"""Bad input gets a documented SQLSTATE or message and leaves nothing half-written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import errors
from support.cli import cidb
from support.docker import run_container, stops_with_one_error
from support.pgbouncer import POOLER_IMAGE
from support.tenantdata import made_tenants

from cidb.pool import build_pool, with_tenant
from cidb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
INJECTION = "x'); DROP TABLE public.tenants; --"


@pytest.fixture(scope="module")
def tenant(settings: Settings, db) -> Iterator[dict[str, Any]]:
    """A tenant with a row in every table (support.tenantdata)."""
    with made_tenants(settings, db, 1) as (ids,):
        yield ids


def chunk_with(embedding: str, ids: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return (
        "INSERT INTO chunks (document_id, tenant_id, project_id, content, token_count,"
        " chunk_index, vector_id, embedding) VALUES (%s, %s, %s, 'c', 1, 99, 'bad', %s::vector)",
        (ids["documents"], ids["tenants"], ids["projects"], embedding),
    )


def vector_text(values: list[str]) -> str:
    return "[" + ",".join(values) + "]"


CASES: dict[str, tuple[Callable[[dict[str, Any]], tuple[str, tuple[Any, ...]]], type, str]] = {
    "unknown-enum-value": (
        lambda ids: ("UPDATE documents SET status = 'archived' WHERE id = %s", (ids["documents"],)),
        errors.InvalidTextRepresentation,
        'invalid input value for enum document_status: "archived"',
    ),
    "wrong-vector-dimension": (
        lambda ids: chunk_with("[1,2,3]", ids),
        errors.DataException,
        "expected 1024 dimensions, not 3",
    ),
    "nan-in-vector": (
        lambda ids: chunk_with(vector_text(["NaN"] + ["0.1"] * 1023), ids),
        errors.DataException,
        "NaN not allowed in vector",
    ),
    "metadata-over-64KiB": (
        lambda ids: (
            "UPDATE documents SET metadata = %s WHERE id = %s",
            (json.dumps({"blob": "x" * 70_000}), ids["documents"]),
        ),
        errors.CheckViolation,
        "documents_metadata_size_check",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_value_is_refused_and_nothing_half_written(connect, tenant, case: str) -> None:
    """Each bad value fails with its SQLSTATE; the transaction's earlier write is rolled back."""
    build, error, message = CASES[case]
    conn = connect("app", autocommit=False)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant["tenants"]),))
    marker = f"half-{uuid.uuid4().hex[:8]}"
    conn.execute(
        "INSERT INTO projects (tenant_id, name) VALUES (%s, %s)", (tenant["tenants"], marker)
    )
    with pytest.raises(error, match=message.replace("(", r"\(")):
        conn.execute(*build(tenant))
    conn.rollback()
    check = connect("admin")
    assert check.execute("SELECT count(*) FROM projects WHERE name = %s", (marker,)).fetchone() == (
        0,
    )


def test_metadata_at_the_limit_is_accepted(connect, tenant) -> None:
    """The documented limit is inclusive of ordinary metadata well below 64 KiB."""
    conn = connect("app", autocommit=False)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant["tenants"]),))
    blob = json.dumps({"blob": "x" * 60_000})
    assert (
        conn.execute(
            "UPDATE documents SET metadata = %s WHERE id = %s", (blob, tenant["documents"])
        ).rowcount
        == 1
    )
    conn.rollback()


@pytest.mark.parametrize("bad", ["not-a-uuid", INJECTION, ""])
def test_non_uuid_tenant_fails_closed_in_sql(connect, tenant, bad: str) -> None:
    """A malformed app.tenant_id set straight in SQL reads nothing and writes nothing."""
    conn = connect("app", autocommit=False)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (bad,))
    assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        conn.execute(
            "INSERT INTO projects (tenant_id, name) VALUES (%s, 'x')", (tenant["tenants"],)
        )
    conn.rollback()


def test_non_uuid_tenant_raises_in_python_before_sql(settings: Settings) -> None:
    """with_tenant refuses an injection-shaped tenant id with ValueError, before any query."""
    pool = build_pool(settings)
    with pytest.raises(ValueError, match="is not a UUID"), with_tenant(pool, INJECTION):
        pass


def test_injection_shaped_slug_through_cidb_is_just_a_missing_tenant(
    stack, settings: Settings, connect
) -> None:
    """`cidb psql --tenant "<injection>"` reports no such tenant; every table is still there."""
    env = {
        "COMPOSE_PROJECT_NAME": stack.project,
        "CI_DB_PORT": str(settings.port),
        "CI_DB_PROJECT_DIR": str(ROOT),
    }
    code, out, err = (
        cidb()["psql", "--role", "app", "--tenant", INJECTION, "--", "-c", "SELECT 1"]
        .with_env(**env)
        .run(retcode=None, timeout=60)
    )
    assert code != 0
    assert "no tenant with slug" in out + err
    tables = (
        connect("admin")
        .execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind IN ('r', 'p') AND NOT relispartition"
        )
        .fetchone()[0]
    )
    assert tables == 11


def test_injection_shaped_names_are_stored_verbatim(connect, tenant) -> None:
    """Names are bound parameters: an injection-shaped title is just text."""
    conn = connect("app", autocommit=False)
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant["tenants"]),))
    conn.execute("UPDATE documents SET title = %s WHERE id = %s", (INJECTION, tenant["documents"]))
    assert conn.execute(
        "SELECT title FROM documents WHERE id = %s", (tenant["documents"],)
    ).fetchone() == (INJECTION,)
    conn.rollback()


def test_injection_shaped_target_through_cidb_seed_changes_nothing(
    settings: Settings, connect
) -> None:
    """`cidb seed --target` with an injection-shaped database name fails; no table is touched."""
    target = f"postgresql://127.0.0.1:{settings.port}/contextinject'; DROP TABLE public.tenants; --"
    code, out, err = (
        cidb()["seed", "--target", target]
        .with_env(CI_ADMIN_PASSWORD=settings.passwords["ci_admin"])
        .run(retcode=None, timeout=120)
    )
    assert code != 0, out + err
    tables = (
        connect("admin")
        .execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind IN ('r', 'p') AND NOT relispartition"
        )
        .fetchone()[0]
    )
    assert tables == 11


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DB_PORT", "5432; host=evil", "DB_PORT='5432; host=evil' is not a port number"),
        ("DB_HOST", "db host", "DB_HOST='db host' is not a host name"),
    ],
)
def test_bad_upstream_address_stops_pgbouncer_naming_the_variable(
    images: dict[str, str], variable: str, value: str, message: str
) -> None:
    """PgBouncer refuses a host or port it would paste into its connection string."""
    pooler = run_container(
        POOLER_IMAGE, env={"PGBOUNCER_AUTH_PASSWORD": "pw", variable: value}, ports=()
    )
    try:
        stops_with_one_error(pooler, message)
    finally:
        pooler.remove()
