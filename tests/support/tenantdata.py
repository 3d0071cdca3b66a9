"""One row in every application table for a tenant, written as ci_admin (it bypasses RLS)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from cidb.containers import Container
    from cidb.settings import Settings

TABLES = [
    "tenants",
    "users",
    "api_keys",
    "projects",
    "connectors",
    "documents",
    "chunks",
    "conversations",
    "query_logs",
    "usage_events",
    "audit_logs",
]
# A text column each test may rewrite without touching keys.
MUTABLE_COLUMN = {
    "tenants": "name",
    "users": "name",
    "api_keys": "name",
    "projects": "description",
    "connectors": "name",
    "documents": "title",
    "chunks": "content",
    "conversations": "title",
    "query_logs": "query",
    "usage_events": "unit",
    "audit_logs": "action",
}


def tenant_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def new_row(table: str, ids: dict[str, Any]) -> dict[str, Any]:
    """Column values for a fresh, valid row of TABLE belonging to the tenant whose rows are IDS."""
    tag = uuid.uuid4().hex[:12]
    tenant = ids.get("tenants")
    rows: dict[str, dict[str, Any]] = {
        "tenants": {"id": uuid.uuid4(), "name": f"Tenant {tag}", "slug": f"t-{tag}"},
        "users": {
            "tenant_id": tenant,
            "email": f"{tag}@example.com",
            "name": "U",
            "password_hash": "x",
            "email_verified": True,
        },
        "api_keys": {
            "tenant_id": tenant,
            "key_hash": uuid.uuid4().hex + uuid.uuid4().hex,
            "prefix": "ci_test_0000",
            "name": f"k-{tag}",
        },
        "projects": {"tenant_id": tenant, "name": f"p-{tag}", "description": "d"},
        "connectors": {
            "tenant_id": tenant,
            "project_id": ids.get("projects"),
            "type": "notion",
            "name": f"c-{tag}",
        },
        "documents": {
            "tenant_id": tenant,
            "project_id": ids.get("projects"),
            "connector_type": "direct-upload",
            "title": "doc",
            "mime_type": "text/plain",
            "content_hash": "0" * 64,
        },
        "chunks": {
            "tenant_id": tenant,
            "project_id": ids.get("projects"),
            "document_id": ids.get("documents"),
            "content": "chunk",
            "token_count": 1,
            "chunk_index": 0,
            "vector_id": f"v-{tag}",
        },
        "conversations": {"tenant_id": tenant, "project_id": ids.get("projects"), "title": "t"},
        "query_logs": {"tenant_id": tenant, "project_id": ids.get("projects"), "query": "q"},
        "usage_events": {
            "tenant_id": tenant,
            "event_type": "query",
            "quantity": 1,
            "unit": "request",
        },
        "audit_logs": {"tenant_id": tenant, "action": "test", "resource_type": "test"},
    }
    return rows[table]


def insert(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> Any:
    query = sql.SQL("INSERT INTO public.{} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    return conn.execute(query, list(values.values())).fetchone()[0]


def make_tenant(admin: psycopg.Connection) -> dict[str, Any]:
    """A tenant with one row in each table; returns table -> row id."""
    ids: dict[str, Any] = {}
    for table in TABLES:
        ids[table] = insert(admin, table, new_row(table, ids))
    return ids


@contextmanager
def made_tenants(settings: Settings, db: Container, count: int) -> Iterator[list[dict[str, Any]]]:
    """COUNT tenants made by make_tenant, removed afterwards by the superuser: audit_logs are
    append-only even for ci_admin."""
    with psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin:
        made = [make_tenant(admin) for _ in range(count)]
    yield made
    ids = ", ".join(f"'{tenant['tenants']}'" for tenant in made)
    db.psql(f"DELETE FROM audit_logs WHERE tenant_id IN ({ids})")
    db.psql(f"DELETE FROM tenants WHERE id IN ({ids})")
