"""Tenant context from Python (cidb.pool) and the look-ups that run before a tenant is known."""

from __future__ import annotations

import hashlib
import random
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.cli import cidb
from support.tenantdata import insert, made_tenants, new_row

from cidb.pool import build_pool, tenant_uuid, with_tenant
from cidb.settings import Settings

TENANTS = 8
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def many_tenants(settings: Settings, db) -> Iterator[list[dict[str, Any]]]:
    """Eight tenants with a row in every table, created as ci_admin."""
    with made_tenants(settings, db, TENANTS) as made:
        yield made


def test_with_tenant_scopes_50_concurrent_transactions(settings: Settings, many_tenants) -> None:
    """50 concurrent transactions for random tenants on one pool each see only their own rows."""
    pool = build_pool(settings, kind="api", pooled=False)
    pool.open(wait=True, timeout=30)
    rng = random.Random(1234)
    picks = [rng.choice(many_tenants) for _ in range(50)]

    def one(ids: dict[str, Any]) -> tuple[Any, set[Any], set[Any]]:
        with with_tenant(pool, ids["tenants"]) as conn:
            seen_docs = {r[0] for r in conn.execute("SELECT tenant_id FROM documents")}
            conn.execute("SELECT pg_sleep(0.05)")  # overlap the transactions
            seen_tenants = {r[0] for r in conn.execute("SELECT id FROM tenants")}
        return ids["tenants"], seen_docs, seen_tenants

    try:
        with ThreadPoolExecutor(max_workers=50) as executor:
            results = list(executor.map(one, picks))
    finally:
        pool.close()
    assert len(results) == 50
    for tenant, docs, tenants in results:
        assert docs == {tenant}
        assert tenants == {tenant}


@pytest.mark.parametrize(
    "bad",
    ["", "not-a-uuid", "1; DROP TABLE tenants", None, 42, "00000000-0000-0000-0000-00000000000g"],
)
def test_with_tenant_rejects_non_uuid_before_any_query(bad: Any) -> None:
    """A non-UUID tenant id raises ValueError without touching the pool (never opened here)."""
    # Unreachable port: any query would fail.
    pool = build_pool(Settings(port=1, pool_port=1, passwords={"ci_app": "unused"}))
    with pytest.raises(ValueError, match="UUID"), with_tenant(pool, bad):
        pass


def test_tenant_uuid_accepts_uuid_objects_and_text() -> None:
    """Both uuid.UUID and its text are accepted and normalised."""
    value = uuid.uuid4()
    assert tenant_uuid(value) == tenant_uuid(str(value).upper()) == str(value)


def test_pool_sizes_follow_the_spec(settings: Settings) -> None:
    """API pools max 20, worker pools max 10."""
    assert build_pool(settings, kind="api").max_size == 20
    assert build_pool(settings, kind="worker").max_size == 10


@pytest.fixture
def api_key(settings: Settings, many_tenants) -> Iterator[dict[str, Any]]:
    """A live key and an expired key for the first tenant; only their hashes are stored."""
    tenant = many_tenants[0]
    keys = {}
    with psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin:
        for label, expires in (("live", None), ("expired", "now() - interval '1 minute'")):
            raw = f"ci_test_{secrets.token_hex(32)}"
            digest = hashlib.sha256(raw.encode()).hexdigest()
            row = new_row("api_keys", tenant) | {"key_hash": digest, "prefix": raw[:16]}
            key_id = insert(admin, "api_keys", row)
            if expires:
                admin.execute(
                    f"UPDATE api_keys SET expires_at = {expires} WHERE id = %s", (key_id,)
                )
            keys[label] = {"raw": raw, "hash": digest, "id": key_id, "tenant": tenant["tenants"]}
    yield keys


def test_api_key_lookup_works_with_no_tenant_set(connect, api_key) -> None:
    """As ci_app with no tenant, the look-up finds exactly the matching key and its tenant."""
    conn = connect("app")
    assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)  # RLS hides them
    rows = conn.execute(
        "SELECT id, tenant_id FROM lookup_api_key(%s)", (api_key["live"]["hash"],)
    ).fetchall()
    assert rows == [(api_key["live"]["id"], api_key["live"]["tenant"])]


@pytest.mark.parametrize("which", ["expired", "wrong-hash", "raw-key-instead-of-hash"])
def test_api_key_lookup_returns_nothing(connect, api_key, which: str) -> None:
    """An expired key, an unknown hash, or the raw key instead of its hash find nothing."""
    probe = {
        "expired": api_key["expired"]["hash"],
        "wrong-hash": hashlib.sha256(b"nope").hexdigest(),
        "raw-key-instead-of-hash": api_key["live"]["raw"],
    }[which]
    assert connect("app").execute("SELECT * FROM lookup_api_key(%s)", (probe,)).fetchall() == []


@pytest.mark.parametrize("role", ["readonly", "admin"])
def test_lookups_are_not_callable_by_other_roles(connect, role: str) -> None:
    """EXECUTE is granted to ci_app only."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        connect(role).execute("SELECT * FROM lookup_api_key('x')")


def test_login_user_lookup_by_slug_and_email(connect, settings: Settings, many_tenants) -> None:
    """The sign-in look-up finds a verified user by tenant slug + email, and nothing else."""
    tenant = many_tenants[1]
    with psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin:
        slug = admin.execute(
            "SELECT slug FROM tenants WHERE id = %s", (tenant["tenants"],)
        ).fetchone()[0]
        email = admin.execute(
            "SELECT email FROM users WHERE id = %s", (tenant["users"],)
        ).fetchone()[0]
        other_slug = admin.execute(
            "SELECT slug FROM tenants WHERE id = %s", (many_tenants[2]["tenants"],)
        ).fetchone()[0]
    conn = connect("app")
    found = conn.execute(
        "SELECT user_id, tenant_id FROM lookup_login_user(%s, %s)", (slug, email)
    ).fetchall()
    assert found == [(tenant["users"], tenant["tenants"])]
    assert (
        conn.execute("SELECT * FROM lookup_login_user(%s, %s)", (other_slug, email)).fetchall()
        == []
    )


QUERY_TENANTS = "SELECT string_agg(id::text, ',') FROM tenants"


def test_cidb_psql_scoped_to_a_tenant_by_slug(stack, settings: Settings, many_tenants) -> None:
    """`cidb psql --role app --tenant <slug>` sees exactly that tenant."""
    tenant = many_tenants[3]
    with psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin:
        slug = admin.execute(
            "SELECT slug FROM tenants WHERE id = %s", (tenant["tenants"],)
        ).fetchone()[0]
    env = {
        "COMPOSE_PROJECT_NAME": stack.project,
        "CI_DB_PORT": str(settings.port),
        "CI_DB_PROJECT_DIR": str(ROOT),
    }
    for scope in (slug, str(tenant["tenants"])):
        args = ["psql", "--role", "app", "--tenant", scope, "--", "-At", "-c", QUERY_TENANTS]
        out = cidb()[args].with_env(**env)(timeout=60)
        assert out.strip() == str(tenant["tenants"])
