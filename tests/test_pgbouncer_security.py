"""PgBouncer against a holder of a role's password: the console, the auth look-up, session
state between pooled clients, hijacked prepared statements, one role starving the others."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from fixtures_stack import STACK_PASSWORDS, Stack
from psycopg import errors
from support.docker import Container, wait_until
from support.pgbouncer import console, network_of, show, start_pooler

from cidb.settings import Settings

SQITCH_LOCK_KEY = 75474063


def pooled(settings: Settings, role: str, port: int | None = None, **kwargs: Any) -> str:
    target = settings if port is None else replace(settings, pool_port=port)
    return target.conninfo(role, pooled=True, connect_timeout=10, **kwargs)


def start_one_server_pooler(db: Container, **env: str) -> Container:
    return start_pooler(
        network_of(db),
        env={
            "PGBOUNCER_AUTH_PASSWORD": STACK_PASSWORDS["PGBOUNCER_AUTH_PASSWORD"],
            "PGBOUNCER_DEFAULT_POOL_SIZE": "1",
            "PGBOUNCER_RESERVE_POOL_SIZE": "0",
            **env,
        },
    )


@pytest.fixture(scope="module")
def one_server(stack: Stack, db: Container) -> Iterator[int]:
    """A pooler with one server connection per pool: every client of a role shares it."""
    container = start_one_server_pooler(db)
    yield container.port(6432)
    container.remove()


@pytest.fixture(scope="module", params=["full", "settings"])
def one_server_each_reset(
    request: pytest.FixtureRequest, stack: Stack, db: Container
) -> Iterator[int]:
    """The one-server pooler in each PGBOUNCER_RESET mode."""
    container = start_one_server_pooler(db, PGBOUNCER_RESET=request.param)
    yield container.port(6432)
    container.remove()


# --- The console ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "readonly"])
def test_no_tcp_client_can_read_server_login_keys(settings: Settings, role: str) -> None:
    """SHOW FDS (it prints each server connection's SCRAM ClientKey) needs admin, and no role
    is admin over TCP: ci_admin and ci_readonly only get the read-only SHOW commands."""
    with console(settings, settings.pool_port, role) as conn:
        assert show(conn, "POOLS"), "the stats console should still work"
        with pytest.raises(psycopg.Error, match="admin access needed"):
            conn.execute("SHOW FDS")
        for command in ("PAUSE", "SHUTDOWN", "RELOAD"):
            with pytest.raises(psycopg.Error, match="admin access needed"):
                conn.execute(command)


def test_operators_reach_the_admin_console_on_the_socket(stack: Stack) -> None:
    """Inside the pooler container, user pgbouncer on the Unix socket is the admin."""
    fds = stack.container("pgbouncer").exec(
        "psql",
        "-XAt",
        "-h",
        "/var/run/pgbouncer",
        "-p",
        "6432",
        "-U",
        "pgbouncer",
        "-d",
        "pgbouncer",
        "-c",
        "SHOW FDS",
    )
    assert "scram" in fds.lower() or fds.strip() != ""


def test_auth_user_cannot_log_in_through_the_pooler(settings: Settings) -> None:
    """pgbouncer_auth's pool carries every auth_query: no client may hold it, right password
    or not."""
    with pytest.raises(psycopg.OperationalError, match="login rejected"):
        psycopg.connect(pooled(settings, "pgbouncer_auth"))


@pytest.mark.parametrize(
    ("role", "served"),
    [
        ("ci_app", True),
        ("ci_readonly", True),
        ("ci_admin", True),
        ("ci_migrator", False),
        ("pgbouncer_auth", False),
        ("postgres", False),
        ("ci_owner", False),
    ],
)
def test_auth_lookup_serves_only_the_pooled_roles(connect: Any, role: str, served: bool) -> None:
    """Holding pgbouncer_auth's password yields the verifiers of the three pooled roles (a
    documented residual: offline guessing only), never the migrator's or the superuser's."""
    conn = connect("pgbouncer_auth")
    rows = conn.execute("SELECT usename FROM pgbouncer.get_auth(%s)", (role,)).fetchall()
    assert rows == ([(role,)] if served else [])


@pytest.mark.parametrize(
    ("service", "variable"),
    [
        ("pgbouncer", "PGBOUNCER_AUTH_PASSWORD"),
        ("db", "POSTGRES_PASSWORD"),
        ("db", "CI_APP_PASSWORD"),
    ],
)
def test_no_process_environment_holds_a_secret(stack: Stack, service: str, variable: str) -> None:
    """/proc/<pid>/environ keeps what a process was started with, whatever it unsets later:
    PgBouncer's entrypoint re-executes itself without the secret, and the db's entrypoint execs
    postgres after unsetting every password, so no process carries one."""
    container = stack.container(service)
    secret = STACK_PASSWORDS[variable]
    assert secret in " ".join(container.inspect()["Config"]["Env"]), "precondition: env has it"
    # PID 1 and its descendants; `docker exec` processes (this one, healthchecks) and their
    # children get the container's configured env from Docker itself, and descend from 0.
    listing = container.exec(
        "sh", "-c", "for p in /proc/[0-9]*; do echo ${p#/proc/} $(cut -d' ' -f4 $p/stat); done"
    )
    parent = dict(line.split() for line in listing.splitlines() if len(line.split()) == 2)

    def under_pid1(pid: str) -> bool:
        while pid not in ("1", "0") and pid in parent:
            pid = parent[pid]
        return pid == "1"

    pids = [pid for pid in parent if under_pid1(pid)]
    environs = {
        pid: container.exec("sh", "-c", f"cat /proc/{pid}/environ 2>/dev/null || true")
        for pid in pids
    }
    assert environs.get("1"), "PID 1's environment should be readable"
    assert [pid for pid, env in environs.items() if secret in env] == []


# --- Session state between pooled clients ----------------------------------------------------


def test_session_level_tenant_never_reaches_the_next_client(
    settings: Settings, one_server_each_reset: int, connect: Any
) -> None:
    """A client sets app.tenant_id for its whole session and leaves; the next client on the
    very same server connection sets no tenant and sees neither the setting nor a row."""
    admin = connect("admin")
    tenant = admin.execute("SELECT id::text FROM public.tenants ORDER BY created_at LIMIT 1")
    tenant_id = tenant.fetchone()[0]
    conninfo = pooled(settings, "app", port=one_server_each_reset)
    with psycopg.connect(conninfo, autocommit=True) as careless, careless.transaction():
        careless.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
        pid = careless.execute("SELECT pg_backend_pid()").fetchone()[0]
        seen = careless.execute("SELECT count(*) FROM public.tenants").fetchone()[0]
    assert seen == 1, "precondition: the careless client reads its tenant in its transaction"
    with psycopg.connect(conninfo, autocommit=True) as nxt:
        row = nxt.execute(
            "SELECT current_setting('app.tenant_id', true), pg_backend_pid(),"
            " (SELECT count(*) FROM public.tenants)"
        ).fetchone()
    assert row[1] == pid, "the test needs both clients on one server connection"
    assert row[0] in ("", None) and row[2] == 0


def test_session_settings_are_reset_between_clients(settings: Settings, one_server: int) -> None:
    """Any session-level SET (here statement_timeout) is gone for the next client."""
    with psycopg.connect(pooled(settings, "app", port=one_server), autocommit=True) as first:
        first.execute("SET statement_timeout = '1ms'")
        pid = first.execute("SELECT pg_backend_pid()").fetchone()
    with psycopg.connect(pooled(settings, "app", port=one_server), autocommit=True) as second:
        row = second.execute("SELECT current_setting('statement_timeout'), pg_backend_pid()")
        timeout, second_pid = row.fetchone()
    assert (second_pid,) == pid
    assert timeout == "0"


def test_hijacked_prepared_statement_never_runs_for_another_client(
    settings: Settings, one_server: int
) -> None:
    """A client replaces PgBouncer's PGBOUNCER_n statement in SQL (DEALLOCATE + PREPARE under
    the same name); the connection is closed after its transaction, and the victim's next
    execution returns its own result."""
    conninfo = pooled(settings, "app", port=one_server)
    with (
        psycopg.connect(conninfo, autocommit=True, prepare_threshold=0) as victim,
        psycopg.connect(conninfo, autocommit=True) as attacker,
    ):
        assert victim.execute("SELECT %s::int + 1", (1,)).fetchone() == (2,)
        names = [
            row[0]
            for row in attacker.execute(
                "SELECT name FROM pg_prepared_statements WHERE NOT from_sql"
            ).fetchall()
        ]
        assert names, "precondition: the victim's statement is visible on the shared server"
        attacked_pid = attacker.execute("SELECT pg_backend_pid()").fetchone()[0]
        with attacker.transaction():
            for name in names:
                attacker.execute(f'DEALLOCATE "{name}"')
                attacker.execute(f'PREPARE "{name}"(int) AS SELECT 666')
        for value in (41, 99):
            assert victim.execute("SELECT %s::int + 1", (value,)).fetchone() == (value + 1,)
        assert victim.execute("SELECT pg_backend_pid()").fetchone()[0] != attacked_pid


def test_deallocated_statement_fails_but_never_runs_other_sql(
    settings: Settings, one_server: int
) -> None:
    """The documented residual: DEALLOCATE alone (nothing PREPAREd in SQL, so the connection is
    kept) makes the victim's statement fail with 26000 on that connection; no other SQL runs."""
    conninfo = pooled(settings, "app", port=one_server)
    with (
        psycopg.connect(conninfo, autocommit=True, prepare_threshold=0) as victim,
        psycopg.connect(conninfo, autocommit=True) as attacker,
    ):
        assert victim.execute("SELECT %s::int + 2", (1,)).fetchone() == (3,)
        names = attacker.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%%+ 2'"
        ).fetchall()
        assert names, "precondition: the victim's statement is on the shared server"
        attacker.execute(f'DEALLOCATE "{names[0][0]}"')
        with pytest.raises(errors.InvalidSqlStatementName):
            victim.execute("SELECT %s::int + 2", (5,))


# --- One role cannot starve ci_app ------------------------------------------------------------

HOGS = 25


def test_app_gets_its_pool_while_other_roles_hog_connections(
    settings: Settings, stack: Stack
) -> None:
    """25 ci_readonly clients sleep in transactions and 25 try as pgbouncer_auth: the pooler
    gives ci_readonly its cap (5) and refuses pgbouncer_auth, and 20 ci_app clients at once
    all get served."""
    readonly = [psycopg.connect(pooled(settings, "readonly"), autocommit=True) for _ in range(HOGS)]
    refused = 0
    for _ in range(HOGS):
        try:
            psycopg.connect(pooled(settings, "pgbouncer_auth")).close()
        except psycopg.OperationalError:
            refused += 1
    threads = [
        threading.Thread(target=_sleep_until_cancelled, args=(conn,), daemon=True)
        for conn in readonly
    ]
    for thread in threads:
        thread.start()
    try:
        with console(settings, settings.pool_port, "admin") as conn:

            def hogged() -> bool:
                pools = {(p["database"], p["user"]): p for p in show(conn, "POOLS")}
                pool = pools.get((settings.database, "ci_readonly"), {})
                return pool.get("sv_active") == 5 and pool.get("cl_waiting") == HOGS - 5

            wait_until(hogged, 60, lambda: "5 busy servers, 20 waiting clients: not seen")
        results: list[Any] = []

        def app_transaction() -> None:
            try:
                with psycopg.connect(pooled(settings, "app")) as conn:
                    results.append(conn.execute("SELECT pg_sleep(0.2), 1").fetchone()[1])
            except psycopg.Error as exc:
                results.append(exc)

        apps = [threading.Thread(target=app_transaction) for _ in range(20)]
        for thread in apps:
            thread.start()
        for thread in apps:
            thread.join(60)
    finally:
        for conn in readonly:
            conn.cancel_safe()
        for thread in threads:
            thread.join(30)
        for conn in readonly:
            conn.close()
    assert refused == HOGS
    assert results == [1] * 20


def _sleep_until_cancelled(conn: psycopg.Connection) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.execute("SELECT pg_sleep(120)")


def test_app_cannot_take_the_deploy_lock_through_the_pooler(settings: Settings) -> None:
    """Advisory locks are not the app's: Sqitch's key cannot be held to stall a deploy."""
    with (
        psycopg.connect(pooled(settings, "app"), autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT pg_advisory_lock(%s)", (SQITCH_LOCK_KEY,))
