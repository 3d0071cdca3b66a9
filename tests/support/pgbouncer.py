"""PgBouncer under test: extra poolers on a stack's network, its console, server-side counts."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from cidb.names import pooler_image
from cidb.settings import Settings
from support.docker import DOCKER, Container, run_container

POOLER_IMAGE = pooler_image()
AUTH_PASSWORD = "dev-pgbouncer-auth-password"


def network_of(container: Container) -> str:
    """The (compose) network a container is attached to."""
    return next(iter(container.inspect()["NetworkSettings"]["Networks"]))


def address_of(container: Container) -> str:
    """The container's IP address on its network: what PostgreSQL sees as client_addr."""
    return next(iter(container.inspect()["NetworkSettings"]["Networks"].values()))["IPAddress"]


def start_pooler(
    network: str,
    *,
    env: Mapping[str, str] | None = None,
    volumes: tuple[str, ...] = (),
    wait: bool = True,
) -> Container:
    """A ci-db-pgbouncer container in front of `db` on NETWORK, healthy when WAIT."""
    container = run_container(
        POOLER_IMAGE,
        env={
            "DB_HOST": "db",
            **(env if env is not None else {"PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD}),
        },
        prefix="cidb-test-pgbouncer",
        ports=(6432,),
        volumes=volumes,
        # The image checks every 5 s; a test need not wait that long for the first green.
        extra=("--network", network, "--health-interval", "1s"),
    )
    if wait:
        try:
            container.wait_healthy(timeout=60)
        except Exception:
            container.remove()
            raise
    return container


def console(
    settings: Settings, port: int, role: str, password: str | None = None
) -> psycopg.Connection:
    """The admin console (virtual database `pgbouncer`) as ROLE; autocommit, as it requires."""
    name = {"admin": "ci_admin", "readonly": "ci_readonly", "app": "ci_app"}.get(role, role)
    return psycopg.connect(
        make_conninfo(
            host=settings.host,
            port=port,
            dbname="pgbouncer",
            user=name,
            password=password if password is not None else settings.passwords.get(name, "x"),
            connect_timeout=10,
        ),
        autocommit=True,
        # The console speaks the simple protocol only: never let psycopg prepare a SHOW.
        prepare_threshold=None,
    )


def show(conn: psycopg.Connection, what: str) -> list[dict[str, Any]]:
    """`SHOW WHAT` on the console, as dicts."""
    cur = conn.execute(f"SHOW {what}")
    names = [col.name for col in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def show_config(conn: psycopg.Connection) -> dict[str, str]:
    return {row["key"]: row["value"] for row in show(conn, "CONFIG")}


# One sample: (server connections of the user, all server connections) from the pooler.
SAMPLE = (
    "SELECT count(*) FILTER (WHERE usename = :'user'), count(*) FROM pg_catalog.pg_stat_activity"
    " WHERE backend_type = 'client backend' AND client_addr = :'addr'::inet;\n"
)


class ServerSampler:
    """Samples pg_stat_activity as the superuser (only it sees other roles' client_addr) in a
    thread, over one psql session in the db container: peak server connections from a pooler."""

    def __init__(self, db: Container, pooler_addr: str, user: str) -> None:
        self.db = db
        self.pooler_addr = pooler_addr
        self.user = user
        self.peak_user = 0
        self.peak_all = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        # Values reach SQL as psql variables, never pasted into it.
        variables = ("-v", f"addr={self.pooler_addr}", "-v", f"user={self.user}")
        session = DOCKER[
            "exec", "-i", self.db.name, "psql", "-XAtq", "-v", "ON_ERROR_STOP=1", *variables
        ]["-d", "contextinject"]
        psql = session.popen(stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert psql.stdin and psql.stdout
        try:
            while not self._stop.is_set():
                psql.stdin.write(SAMPLE)
                psql.stdin.flush()
                users, total = map(int, psql.stdout.readline().strip().split("|"))
                self.peak_user = max(self.peak_user, users)
                self.peak_all = max(self.peak_all, total)
                self.samples += 1
                time.sleep(0.01)
        except BaseException as exc:  # surfaced when running() ends
            self._error = exc
        finally:
            psql.stdin.close()
            psql.wait(timeout=30)

    @contextmanager
    def running(self) -> Iterator[ServerSampler]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=30)
            if self._error:
                raise self._error


async def crowd(
    conninfo: str,
    clients: int,
    work: Callable[[psycopg.AsyncConnection, int], Awaitable[Any]],
    *,
    connecting_at_once: int = 100,
    all_connected: Callable[[], Awaitable[None]] | None = None,
) -> list[Any]:
    """CLIENTS connections open at the same time, then WORK on each concurrently; results in order.

    Logins are spread (CONNECTING_AT_ONCE at a time) only so the listen backlog is not the test;
    every connection stays open until all have worked. ALL_CONNECTED runs once all are open.
    """
    gate = asyncio.Semaphore(connecting_at_once)

    async def open_one() -> psycopg.AsyncConnection:
        async with gate:
            return await psycopg.AsyncConnection.connect(conninfo)

    conns = await asyncio.gather(*(open_one() for _ in range(clients)), return_exceptions=True)
    opened = [c for c in conns if isinstance(c, psycopg.AsyncConnection)]
    try:
        failures = [c for c in conns if isinstance(c, BaseException)]
        if failures:
            raise AssertionError(f"{len(failures)} of {clients} logins failed: {failures[0]!r}")
        if all_connected:
            await all_connected()
        return await asyncio.gather(*(work(conn, i) for i, conn in enumerate(opened)))
    finally:
        await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)
