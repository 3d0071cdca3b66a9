"""The asyncio API of cidb.pool (build_async_pool, async_with_tenant), direct and through
PgBouncer, against the running stack."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.docker import Container
from support.tenantdata import made_tenants

from cidb.pool import async_with_tenant, build_async_pool
from cidb.settings import Settings

PATHS = [pytest.param(False, id="direct"), pytest.param(True, id="pgbouncer")]


@pytest.fixture(scope="module")
def two_tenants(settings: Settings, db: Container) -> Iterator[list[dict[str, Any]]]:
    """Two tenants with a row in every table, created as ci_admin, removed afterwards."""
    with made_tenants(settings, db, 2) as made:
        yield made


@pytest.mark.parametrize("pooled", PATHS)
def test_async_with_tenant_sees_only_its_tenant(
    settings: Settings, two_tenants: list[dict[str, Any]], pooled: bool
) -> None:
    """Concurrent transactions for two tenants each see their own tenant and documents only."""

    async def scenario() -> list[tuple[str, set[Any], set[Any]]]:
        pool = build_async_pool(settings, kind="worker", pooled=pooled)
        await pool.open(wait=True, timeout=30)
        try:

            async def one(ids: dict[str, Any]) -> tuple[str, set[Any], set[Any]]:
                async with async_with_tenant(pool, ids["tenants"]) as conn:
                    setting = await (
                        await conn.execute("SELECT current_setting('app.tenant_id')")
                    ).fetchone()
                    await conn.execute("SELECT pg_sleep(0.05)")  # overlap the transactions
                    docs = {
                        r[0]
                        for r in await (
                            await conn.execute("SELECT tenant_id FROM documents")
                        ).fetchall()
                    }
                    tenants = {
                        r[0]
                        for r in await (await conn.execute("SELECT id FROM tenants")).fetchall()
                    }
                assert setting is not None
                return setting[0], docs, tenants

            return list(await asyncio.gather(*(one(ids) for ids in two_tenants * 4)))
        finally:
            await pool.close()

    results = asyncio.run(scenario())
    assert len(results) == 8
    for (setting, docs, tenants), ids in zip(results, two_tenants * 4, strict=True):
        assert setting == str(ids["tenants"])
        assert docs == tenants == {ids["tenants"]}


@pytest.mark.parametrize("pooled", PATHS)
def test_async_tenant_setting_ends_with_the_transaction(settings: Settings, pooled: bool) -> None:
    """The next transaction on the same (only) connection reads no tenant: set_config(.., true)."""

    async def scenario() -> tuple[str, str]:
        pool = build_async_pool(settings, pooled=pooled, min_size=1, max_size=1)
        await pool.open(wait=True, timeout=30)
        try:
            tenant = str(uuid.uuid4())
            async with async_with_tenant(pool, tenant) as conn:
                inside = await (
                    await conn.execute("SELECT current_setting('app.tenant_id', true)")
                ).fetchone()
            async with pool.connection() as conn:
                after = await (
                    await conn.execute(
                        "SELECT coalesce(current_setting('app.tenant_id', true), '')"
                    )
                ).fetchone()
            assert inside is not None and after is not None
            return str(inside[0]), str(after[0])
        finally:
            await pool.close()

    inside, after = asyncio.run(scenario())
    assert uuid.UUID(inside)
    assert after == ""


@pytest.mark.parametrize(
    "bad",
    ["", "not-a-uuid", "1; DROP TABLE tenants", None, 42, "00000000-0000-0000-0000-00000000000g"],
)
def test_async_with_tenant_rejects_non_uuid_before_any_query(bad: Any) -> None:
    """ValueError without touching the pool: it is never opened and its port is unreachable."""
    pool = build_async_pool(Settings(port=1, pool_port=1, passwords={"ci_app": "unused"}))

    async def scenario() -> None:
        async with async_with_tenant(pool, bad):
            pytest.fail("the block must not run")

    with pytest.raises(ValueError, match="UUID"):
        asyncio.run(scenario())


def test_async_pool_sizes_follow_the_spec() -> None:
    """API pools max 20, worker pools max 10, both closed until opened."""
    settings = Settings(passwords={"ci_app": "unused"})
    api, worker = build_async_pool(settings, kind="api"), build_async_pool(settings, kind="worker")
    assert (api.max_size, worker.max_size) == (20, 10)
    assert api.closed and worker.closed
