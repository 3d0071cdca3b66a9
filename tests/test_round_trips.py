"""with_tenant costs no round trip more than an unscoped transaction, sync and async, direct
and through PgBouncer: counted in libpq's own trace of what the client sent (each round trip
ends with a Query or a Sync message)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import pq

from cidb.pool import (
    async_with_tenant,
    begin_for_tenant,
    build_async_pool,
    build_pool,
    with_tenant,
)
from cidb.settings import Settings

PATHS = [pytest.param(False, id="direct"), pytest.param(True, id="pgbouncer")]
QUERY = "SELECT count(*) FROM documents"
TENANT = str(uuid.uuid4())
ENDS = ("Query", "Sync")


def ends_of_round_trips(trace: bytes) -> int:
    """Client messages (F) that end a round trip: a simple Query, or the Sync of an extended one."""
    fields = [line.split("\t") for line in trace.decode().splitlines()]
    return sum(1 for f in fields if len(f) > 2 and f[0] == "F" and f[2].split()[0] in ENDS)


@contextmanager
def counting(pgconn: pq.abc.PGconn) -> Iterator[list[int]]:
    """Traces PGCONN for the block; the list then holds the round trips it made."""
    count: list[int] = []
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield count
        finally:
            pgconn.untrace()
        trace.seek(0)
        count.append(ends_of_round_trips(trace.read()))


def round_trips(pgconn: pq.abc.PGconn, work: Callable[[], object]) -> int:
    with counting(pgconn) as count:
        work()
    return count[0]


@pytest.mark.parametrize("pooled", PATHS)
def test_with_tenant_takes_the_round_trips_of_an_unscoped_transaction(
    settings: Settings, pooled: bool
) -> None:
    pool = build_pool(settings, kind="worker", pooled=pooled, min_size=1, max_size=1)
    pool.open(wait=True, timeout=30)
    try:
        with pool.connection() as conn:  # the pool's only connection: every block gets it
            pgconn = conn.pgconn

        def unscoped() -> None:
            with pool.connection() as conn, conn.transaction():
                conn.execute(QUERY).fetchall()

        def scoped() -> None:
            with with_tenant(pool, TENANT) as conn:
                assert conn.execute("SELECT current_setting('app.tenant_id')").fetchone() == (
                    TENANT,
                )

        def scoped_query() -> None:
            with with_tenant(pool, TENANT) as conn:
                conn.execute(QUERY).fetchall()

        assert round_trips(pgconn, unscoped) == 3  # BEGIN, the query, COMMIT
        assert round_trips(pgconn, scoped_query) == round_trips(pgconn, unscoped)
        scoped()
    finally:
        pool.close()


@pytest.mark.parametrize("pooled", PATHS)
def test_async_with_tenant_takes_the_round_trips_of_an_unscoped_transaction(
    settings: Settings, pooled: bool
) -> None:
    async def scenario() -> tuple[int, int]:
        pool = build_async_pool(settings, kind="worker", pooled=pooled, min_size=1, max_size=1)
        await pool.open(wait=True, timeout=30)
        try:
            async with pool.connection() as conn:
                pgconn = conn.pgconn

            async def unscoped() -> None:
                async with pool.connection() as conn, conn.transaction():
                    await (await conn.execute(QUERY)).fetchall()

            async def scoped() -> None:
                async with async_with_tenant(pool, TENANT) as conn:
                    await (await conn.execute(QUERY)).fetchall()

            return (await traced(pgconn, unscoped), await traced(pgconn, scoped))
        finally:
            await pool.close()

    unscoped, scoped = asyncio.run(scenario())
    assert unscoped == 3
    assert scoped == unscoped


async def traced(pgconn: pq.abc.PGconn, work: Callable[[], Awaitable[None]]) -> int:
    with counting(pgconn) as count:
        await work()
    return count[0]


def test_a_failed_statement_rolls_the_tenant_transaction_back(settings: Settings) -> None:
    """The pool gets its connection back idle, in its own autocommit mode, after an error."""
    pool = build_pool(settings, kind="worker", pooled=True, min_size=1, max_size=1)
    pool.open(wait=True, timeout=30)
    try:
        with pytest.raises(psycopg.errors.DivisionByZero), with_tenant(pool, TENANT) as conn:
            conn.execute("SELECT 1 / 0")
        with pool.connection() as conn:
            assert conn.autocommit is False
            assert conn.info.transaction_status == pq.TransactionStatus.IDLE
            assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone() in (
                (None,),
                ("",),
            )
    finally:
        pool.close()


def test_the_begin_message_takes_only_a_canonical_uuid() -> None:
    """The tenant is quoted by hand in the BEGIN message: nothing but a canonical UUID passes."""
    tenant = str(uuid.uuid4())
    assert begin_for_tenant(tenant) == (f"BEGIN; SET LOCAL app.tenant_id = '{tenant}'".encode())
    for bad in (tenant.upper(), f"{tenant}'); DROP TABLE documents; --", tenant[:-1], ""):
        with pytest.raises(ValueError, match="not a canonical UUID"):
            begin_for_tenant(bad)
