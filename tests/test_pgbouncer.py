"""PgBouncer on 6432: SCRAM pass-through, transaction pooling that holds tenants apart, sizes
bounded by the spec's formula, prepared statements, db restarts and a bounded stop."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fixtures_stack import STACK_PASSWORDS, Stack, running_stack
from support.docker import DOCKER, Container, DeadlinePassed, run_container, wait_until
from support.pgbouncer import (
    POOLER_IMAGE,
    ServerSampler,
    address_of,
    console,
    crowd,
    network_of,
    show,
    show_config,
    start_pooler,
)
from support.tenantdata import made_tenants

from cidb.pool import build_pool, with_tenant
from cidb.settings import Settings

SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
# What pgbouncer.ini documents; the running pooler must report exactly this.
DOCUMENTED_CONFIG = {
    "pool_mode": "transaction",
    "listen_port": "6432",
    "auth_type": "hba",
    "auth_hba_file": "/etc/pgbouncer/pg_hba.conf",
    "auth_user": "pgbouncer_auth",
    "auth_query": "SELECT usename, passwd FROM pgbouncer.get_auth($1)",
    "auth_dbname": "contextinject",
    "admin_users": "",
    "stats_users": "ci_readonly, ci_admin, ci_monitor",
    "server_reset_query": "RESET ALL; SELECT pgbouncer.close_if_prepared_in_sql()",
    "server_reset_query_always": "1",
    "max_prepared_statements": "200",
    "max_client_conn": "5000",
    "max_db_connections": "40",
    "default_pool_size": "20",
    "reserve_pool_size": "5",
    "server_connect_timeout": "3",
    "server_login_retry": "1",
    "query_wait_timeout": "15",
}
# The formula's instance_count that pgbouncer.ini budgets for.
POOLER_INSTANCES = 2
# README: after a db restart, new transactions succeed within this many seconds of db healthy.
RECOVERY_BOUND_S = 5
# 1,000 logins and transactions take seconds; this only turns a hang into a failure.
CROWD_DEADLINE_S = 180
# An in-flight transaction must get its error well before this (it is bounded, not hung).
IN_FLIGHT_BOUND_S = 20


@pytest.fixture(scope="module")
def pooler(stack: Stack) -> Container:
    return stack.container("pgbouncer")


@pytest.fixture(scope="module")
def tenants(settings: Settings, db: Container) -> Iterator[dict[str, str]]:
    """Tenants a and b (one row in every table each), removed by the superuser afterwards:
    audit_logs are append-only even for ci_admin."""
    with made_tenants(settings, db, 2) as (a, b):
        yield {"a": str(a["tenants"]), "b": str(b["tenants"])}


@pytest.fixture(scope="module")
def single_server_pooler(stack: Stack, db: Container) -> Iterator[Container]:
    """A second pooler of the same image on the stack's network, sized by env to one server
    connection per pool (the entrypoint's PGBOUNCER_<SETTING> overrides)."""
    container = start_pooler(
        network_of(db),
        env={
            "PGBOUNCER_AUTH_PASSWORD": STACK_PASSWORDS["PGBOUNCER_AUTH_PASSWORD"],
            "PGBOUNCER_DEFAULT_POOL_SIZE": "1",
            "PGBOUNCER_RESERVE_POOL_SIZE": "0",
        },
    )
    yield container
    container.remove()


def pooled(settings: Settings, role: str, port: int | None = None, **kwargs: Any) -> str:
    """Conninfo for ROLE through the stack's PgBouncer, or through another one on PORT."""
    target = settings if port is None else replace(settings, pool_port=port)
    return target.conninfo(role, pooled=True, connect_timeout=10, **kwargs)


# --- 1. SCRAM through PgBouncer, no userlist of application passwords ------------------------


def test_app_role_logs_in_through_pgbouncer_with_scram(settings: Settings) -> None:
    """ci_app logs in on 6432 with libpq accepting SCRAM only, and lands on the db's 5432."""
    with psycopg.connect(pooled(settings, "app", require_auth="scram-sha-256")) as conn:
        row = conn.execute("SELECT current_user, inet_server_port()").fetchone()
    assert row == ("ci_app", 5432)


REFUSED_LOGINS = [
    pytest.param("ci_app", "wrong-password", "SASL authentication failed", id="app-wrong-password"),
    pytest.param(
        "postgres", STACK_PASSWORDS["POSTGRES_PASSWORD"], "no such user", id="superuser-postgres"
    ),
    pytest.param("ci_owner", "anything", "no such user", id="nologin-owner"),
    pytest.param("pgbouncer_auth", "wrong-password", "login rejected", id="auth-user"),
    pytest.param("no_such_role", "anything", "no such user", id="unknown-role"),
]


@pytest.mark.parametrize(("user", "password", "message"), REFUSED_LOGINS)
def test_pgbouncer_refuses_login(
    settings: Settings, user: str, password: str, message: str
) -> None:
    """Wrong passwords, the superuser, NOLOGIN and unknown roles are refused by PgBouncer."""
    with pytest.raises(psycopg.OperationalError, match=message):
        psycopg.connect(
            host=settings.host,
            port=settings.pool_port,
            dbname=settings.database,
            user=user,
            password=password,
            connect_timeout=10,
        )


def test_expired_role_is_refused_through_pgbouncer(settings: Settings, db: Container) -> None:
    """A role whose VALID UNTIL has passed gets no verifier from the look-up: refused."""
    role = f"cidb_expired_{uuid.uuid4().hex[:8]}"
    db.psql(
        f"CREATE ROLE {role} LOGIN PASSWORD 'expired-password' VALID UNTIL '2000-01-01';"
        f" GRANT CONNECT ON DATABASE contextinject TO {role}"
    )
    try:
        with pytest.raises(psycopg.OperationalError, match="no such user"):
            psycopg.connect(
                host=settings.host,
                port=settings.pool_port,
                dbname=settings.database,
                user=role,
                password="expired-password",
                connect_timeout=10,
            )
    finally:
        db.psql(f"REVOKE ALL ON DATABASE contextinject FROM {role}; DROP ROLE {role}")


def test_pooler_keeps_only_its_own_secret(pooler: Container) -> None:
    """auth_file holds pgbouncer_auth alone; no app password is in the pooler's files or env."""
    userlist = pooler.exec("cat", "/var/run/pgbouncer/userlist.txt").splitlines()
    assert [line.split()[0] for line in userlist] == ['"pgbouncer_auth"']
    app_passwords = [v for k, v in STACK_PASSWORDS.items() if k != "PGBOUNCER_AUTH_PASSWORD"]
    patterns = [arg for password in app_passwords for arg in ("-e", password)]
    # As root, so no file is skipped as unreadable; 1 = nothing found, 2 = an error.
    grep = ("grep", "-rlF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev")
    code, found, err = DOCKER["exec", "-u", "0", pooler.name, *grep, *patterns, "/"].run(
        retcode=None
    )
    assert (code, found) == (1, ""), f"application password found in {found}{err}"
    env = " ".join(pooler.inspect()["Config"]["Env"])
    assert not [p for p in app_passwords if p in env]


@pytest.mark.slow
def test_auth_secret_is_read_from_file(
    stack: Stack, db: Container, settings: Settings, tmp_path: Path
) -> None:
    """PGBOUNCER_AUTH_PASSWORD_FILE (a Docker secret) works like the variable itself."""
    secret = tmp_path / "pgbouncer_auth"
    secret.write_text(STACK_PASSWORDS["PGBOUNCER_AUTH_PASSWORD"] + "\n")
    secret.chmod(0o644)
    container = start_pooler(
        network_of(db),
        env={"PGBOUNCER_AUTH_PASSWORD_FILE": "/run/secrets/pgbouncer_auth"},
        volumes=(f"{secret}:/run/secrets/pgbouncer_auth:ro",),
    )
    try:
        with psycopg.connect(pooled(settings, "app", port=container.port(6432))) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("ci_app",)
    finally:
        container.remove()


BAD_ENVIRONMENTS = [
    pytest.param({}, "no PGBOUNCER_AUTH_PASSWORD", id="no-secret"),
    pytest.param(
        {"PGBOUNCER_AUTH_PASSWORD": "x", "PGBOUNCER_AUTH_PASSWORD_FILE": "/etc/hostname"},
        "set only one",
        id="secret-and-file",
    ),
    pytest.param(
        {"PGBOUNCER_AUTH_PASSWORD": "x", "PGBOUNCER_DEFAULT_POOL_SIZE": "twenty"},
        "PGBOUNCER_DEFAULT_POOL_SIZE='twenty' is not a whole number",
        id="bad-pool-size",
    ),
    pytest.param(
        {"PGBOUNCER_AUTH_PASSWORD": "x", "PGBOUNCER_RESET": "none"},
        "PGBOUNCER_RESET='none' must be full or settings",
        id="bad-reset-mode",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("env", "message"), BAD_ENVIRONMENTS)
def test_pooler_refuses_to_start_on_bad_environment(
    images: dict[str, str], env: dict[str, str], message: str
) -> None:
    """Bad input stops the container with one clear line before PgBouncer starts."""
    container = run_container(POOLER_IMAGE, env=env, prefix="cidb-test-pgbouncer", ports=())
    try:
        assert container.wait_exit(timeout=60) == 1
        assert message in container.logs()
    finally:
        container.remove()


# --- 2. The console: transaction pooling, documented sizes, named users only ----------------


def test_console_reports_transaction_pooling_and_documented_sizes(
    settings: Settings,
) -> None:
    """SHOW CONFIG as ci_admin (a stats user) reports what pgbouncer.ini documents."""
    with console(settings, settings.pool_port, "admin") as conn:
        config = show_config(conn)
    assert {key: config.get(key) for key in DOCUMENTED_CONFIG} == DOCUMENTED_CONFIG


def test_pool_budget_fits_the_spec_formula(settings: Settings, db: Container) -> None:
    """max_db_connections * instances < max_connections - reserved, as the server reports it."""
    with console(settings, settings.pool_port, "admin") as conn:
        per_instance = int(show_config(conn)["max_db_connections"])
    max_connections, reserved = map(
        int,
        db.psql(
            "SELECT current_setting('max_connections'),"
            " current_setting('reserved_connections')::int"
            " + current_setting('superuser_reserved_connections')::int"
        ).split("|"),
    )
    assert reserved == 10
    assert per_instance * POOLER_INSTANCES < max_connections - reserved


CONSOLE_REFUSALS = [
    pytest.param("ci_app", None, "not allowed", id="app"),
    pytest.param("ci_migrator", None, "no such user", id="migrator"),
    pytest.param("pgbouncer_auth", None, "not allowed", id="auth-user"),
    pytest.param("ci_admin", "wrong-password", "SASL authentication failed", id="admin-wrong-pw"),
]


@pytest.mark.parametrize(("role", "password", "message"), CONSOLE_REFUSALS)
def test_console_refuses_other_roles(
    settings: Settings, role: str, password: str | None, message: str
) -> None:
    """Only stats_users get into the console over TCP, with their own password."""
    with pytest.raises(psycopg.OperationalError, match=message):
        console(settings, settings.pool_port, role, password)


def test_stats_user_may_look_but_not_act(settings: Settings) -> None:
    """ci_readonly (stats_users) runs SHOW but not admin commands."""
    with console(settings, settings.pool_port, "readonly") as conn:
        pools = show(conn, "POOLS")
        assert pools, "SHOW POOLS returned nothing"
        with pytest.raises(psycopg.Error, match="admin access needed"):
            conn.execute("RELOAD")


# --- 3. Load: the spec's 50 on a pool of 20, and 1,000 clients on a bounded server side ------


def test_fifty_concurrent_queries_through_a_pool_of_twenty(
    settings: Settings, tenants: dict[str, str]
) -> None:
    """The spec: a psycopg pool of max 20 (API sizing) serves 50 concurrent queries, no error."""
    pool = build_pool(settings, kind="api")
    assert pool.max_size == 20
    start = threading.Barrier(50)
    results: list[int] = []
    errors: list[BaseException] = []

    def query(index: int) -> None:
        start.wait(timeout=30)
        try:
            tenant = tenants["a" if index % 2 else "b"]
            with with_tenant(pool, tenant) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM public.projects, pg_sleep(0.05)"
                ).fetchone()
            results.append(row[0])
        except BaseException as exc:
            errors.append(exc)

    pool.open(wait=True, timeout=30)
    try:
        threads = [threading.Thread(target=query, args=(i,)) for i in range(50)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in threads)
        stats = pool.get_stats()
    finally:
        pool.close()
    assert not stuck, f"{stuck} queries still waiting after 60 s; pool stats {stats}"
    assert errors == []
    assert results == [1] * 50
    # The 30 beyond the pool's 20 really had to wait for a connection.
    assert stats["requests_queued"] > 0, stats


def test_thousand_clients_are_served_by_a_bounded_server_side(
    settings: Settings,
    db: Container,
    pooler: Container,
    tenants: dict[str, str],
) -> None:
    """1,000 concurrent clients log in and run transactions while pg_stat_activity never shows
    more ci_app server connections than default_pool_size + reserve_pool_size."""
    clients = 1000
    with console(settings, settings.pool_port, "admin") as admin_console:
        config = show_config(admin_console)
        pool_limit = int(config["default_pool_size"]) + int(config["reserve_pool_size"])
        db_limit = int(config["max_db_connections"])
        seen_clients: list[int] = []

        async def count_clients() -> None:
            pools = show(admin_console, "POOLS")
            seen_clients.extend(
                p["cl_active"] + p["cl_waiting"] for p in pools if p["user"] == "ci_app"
            )

        async def work(conn: psycopg.AsyncConnection, index: int) -> tuple[int, int]:
            async with conn.transaction():
                await conn.execute(SET_TENANT, (tenants["a" if index % 2 else "b"],))
                cur = await conn.execute(
                    "SELECT (SELECT count(*) FROM public.projects), pg_backend_pid(),"
                    " pg_sleep(0.01)"
                )
                count, pid, _ = await cur.fetchone()
            return count, pid

        sampler = ServerSampler(db, address_of(pooler), "ci_app")
        with sampler.running():
            everyone = crowd(pooled(settings, "app"), clients, work, all_connected=count_clients)
            try:
                results = asyncio.run(asyncio.wait_for(everyone, timeout=CROWD_DEADLINE_S))
            except TimeoutError:
                raise DeadlinePassed(
                    f"{clients} clients not served in {CROWD_DEADLINE_S}s:\n{pooler.logs()[-5000:]}"
                ) from None
    server_pids = {pid for _, pid in results}
    print(
        f"clients seen {max(seen_clients, default=0)}, server peak {sampler.peak_user}"
        f" (all {sampler.peak_all}) in {sampler.samples} samples, {len(server_pids)} pids"
    )
    assert seen_clients and max(seen_clients) >= clients
    assert [count for count, _ in results] == [1] * clients
    assert sampler.samples > 0
    assert 0 < sampler.peak_user <= pool_limit, vars(sampler)
    assert sampler.peak_all <= db_limit, vars(sampler)
    assert len(server_pids) <= pool_limit


# --- 4. Tenants over one shared server connection ---------------------------------------------


def test_single_server_pooler_takes_its_size_from_the_environment(
    settings: Settings, single_server_pooler: Container
) -> None:
    """PGBOUNCER_DEFAULT_POOL_SIZE / _RESERVE_POOL_SIZE override pgbouncer.ini's sizes."""
    with console(settings, single_server_pooler.port(6432), "admin") as conn:
        config = show_config(conn)
    assert (config["default_pool_size"], config["reserve_pool_size"]) == ("1", "0")


def test_alternating_tenants_on_one_server_connection_never_see_each_other(
    settings: Settings, single_server_pooler: Container, tenants: dict[str, str]
) -> None:
    """1,000 interleaved transactions of tenants a and b share one server connection; each
    starts with no tenant (set_config(.., true) ended with the last one) and sees only its own."""
    port = single_server_pooler.port(6432)
    with (
        psycopg.connect(pooled(settings, "app", port=port)) as conn_a,
        psycopg.connect(pooled(settings, "app", port=port)) as conn_b,
    ):
        pids: set[int] = set()
        for index in range(1000):
            name = "ab"[index % 2]
            conn = conn_a if name == "a" else conn_b
            with conn.transaction():
                inherited = conn.execute("SELECT count(*) FROM public.projects").fetchone()[0]
                conn.execute(SET_TENANT, (tenants[name],))
                seen = conn.execute(
                    "SELECT DISTINCT tenant_id::text, pg_backend_pid() FROM public.projects"
                ).fetchall()
            assert inherited == 0, f"transaction {index} inherited a tenant"
            assert [tenant for tenant, _ in seen] == [tenants[name]], f"transaction {index}"
            pids.update(pid for _, pid in seen)
    assert len(pids) == 1, f"expected one shared server connection, saw {pids}"


# --- 5. Prepared statements across server connections -----------------------------------------


def test_prepared_statement_is_reused_across_server_connections(settings: Settings) -> None:
    """psycopg prepares (threshold 0) and reuses one statement in transactions that land on
    different server connections; PgBouncer prepares it on each one as PGBOUNCER_<n>."""
    probe = "SELECT pg_backend_pid(), %s::int + 1 AS cidb_prepared_probe"
    pids: list[int] = []
    with (
        psycopg.connect(pooled(settings, "app"), prepare_threshold=0) as conn,
        psycopg.connect(pooled(settings, "app")) as holder,
        console(settings, settings.pool_port, "admin") as stats,
    ):
        for index in range(6):
            with conn.transaction():
                pid, answer = conn.execute(probe, (index,)).fetchone()
                names = conn.execute(
                    "SELECT name FROM pg_prepared_statements"
                    " WHERE statement LIKE '%cidb_prepared_probe%'"
                ).fetchall()
            assert answer == index + 1
            assert names and all(n.startswith("PGBOUNCER_") for (n,) in names), names
            pids.append(pid)
            # The server goes back to the pool only after its reset query: wait until it is
            # idle, then hold it (LIFO) until the next round ends, so the next transaction
            # must get another.
            wait_until(
                lambda pid=pid: any(
                    s["remote_pid"] == pid and s["state"] == "idle" for s in show(stats, "SERVERS")
                ),
                30,
                lambda: str(show(stats, "SERVERS")),
            )
            if index % 2 == 0:
                holder.execute("SELECT pg_backend_pid()")
            else:
                holder.commit()
        holder.rollback()
    assert len(set(pids)) >= 2, pids


# --- 6. db restarted under a running PgBouncer (its own compose project) --------------------


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def first_success(conninfo: str, timeout: float) -> float | None:
    """Seconds until a new pooled transaction succeeds, or None when TIMEOUT passes first."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with psycopg.connect(conninfo) as conn:
                conn.execute("SELECT 1")
            return time.monotonic() - start
        except psycopg.OperationalError:
            time.sleep(0.1)
    return None


@dataclass
class Restart:
    """What happened around one `compose stop db` / `compose start db` under a running pooler."""

    running_query: dict[str, object] = field(default_factory=dict)
    running_query_hung: bool = False
    open_transaction_error: BaseException | None = None
    health_while_down: tuple[int, str] = (0, "")
    recovery_s: float | None = None
    health_after: int = -1
    idle_client_error: BaseException | None = None
    logs: str = ""


@pytest.fixture(scope="module")
def restart(images: dict[str, str]) -> Iterator[Restart]:
    """db stopped and started again under PgBouncer, in a compose project of its own (the shared
    stack never sees its db go down); the tests below each check one outcome."""
    with running_stack(f"cidbpgb{uuid.uuid4().hex[:8]}") as project:
        yield restart_under_pooler(project)


def restart_under_pooler(project: Stack) -> Restart:
    settings = project.settings()
    db, pooler = project.container("db"), project.container("pgbouncer")
    conninfo = pooled(settings, "app")
    outcome = Restart()

    def logs() -> str:
        return project.compose("logs", "--no-color", "--tail", "60", retcode=None)

    with (
        psycopg.connect(conninfo) as running,
        psycopg.connect(conninfo) as open_transaction,
        psycopg.connect(conninfo, autocommit=True) as idle,
    ):
        idle.execute("SELECT 1")  # logged in, then between transactions over the restart
        open_transaction.execute("SELECT 1")  # BEGIN ... and nothing more yet
        query, outcome.running_query = in_thread(lambda: running.execute("SELECT pg_sleep(120)"))
        wait_until(
            lambda: (
                db.psql(
                    "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'"
                )
                == "1"
            ),
            30,
            logs,
        )
        project.compose("stop", "db")
        query.join(timeout=IN_FLIGHT_BOUND_S)
        outcome.running_query_hung = query.is_alive()
        try:
            open_transaction.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            outcome.open_transaction_error = exc
        code, _, err = pooler.exec_result("/usr/local/bin/pgbouncer-healthcheck.sh")
        outcome.health_while_down = (code, err)

        project.compose("start", "db")
        db.wait_healthy(timeout=180)
        started = time.monotonic()
        # First, while the pool has no server connection yet: PgBouncer must log in anew for it.
        try:
            idle.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            outcome.idle_client_error = exc
        remaining = RECOVERY_BOUND_S - (time.monotonic() - started)
        if first_success(conninfo, max(0.0, remaining)) is not None:
            outcome.recovery_s = time.monotonic() - started
        outcome.health_after = pooler.exec_result("/usr/local/bin/pgbouncer-healthcheck.sh")[0]
    outcome.logs = logs()
    return outcome


@pytest.mark.slow
def test_db_restart_fails_a_running_query_promptly(restart: Restart) -> None:
    """A query running when db stops gets an error, not a hang."""
    assert not restart.running_query_hung, restart.logs
    assert isinstance(restart.running_query.get("error"), psycopg.OperationalError), restart


@pytest.mark.slow
def test_db_restart_fails_an_open_transaction(restart: Restart) -> None:
    """A transaction open when db stops gets an error on its next statement."""
    assert isinstance(restart.open_transaction_error, psycopg.OperationalError), restart.logs


@pytest.mark.slow
def test_healthcheck_is_red_while_db_is_down_and_green_after(restart: Restart) -> None:
    """The pooler's healthcheck fails (within its own 4 s limit) while db is down."""
    code, err = restart.health_while_down
    assert code != 0 and "pgbouncer-healthcheck" in err, (code, err)
    assert restart.health_after == 0, restart.logs


@pytest.mark.slow
def test_new_transactions_succeed_soon_after_db_is_healthy_again(restart: Restart) -> None:
    """Once db is healthy again a new pooled transaction succeeds within RECOVERY_BOUND_S."""
    assert restart.recovery_s is not None, f"none within {RECOVERY_BOUND_S}s:\n{restart.logs}"
    print(f"first pooled transaction {restart.recovery_s:.2f}s after db was healthy again")


@pytest.mark.slow
def test_client_logged_in_before_the_restart_is_served_after_it(restart: Restart) -> None:
    """A client that was between transactions over the restart runs its next one normally."""
    assert restart.idle_client_error is None, restart.idle_client_error


# --- Stopping: SIGINT, bounded by Docker's 10 s ----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("client", ["idle", "mid-query"])
def test_docker_stop_ends_pgbouncer_cleanly_within_the_default_timeout(
    settings: Settings, db: Container, client: str
) -> None:
    """`docker stop` (SIGINT, 10 s) exits 0, not SIGKILL's 137, even with a query in flight."""
    container = start_pooler(network_of(db))
    try:
        assert container.inspect()["Config"]["StopSignal"] == "SIGINT"
        query = None
        if client == "mid-query":
            conn = psycopg.connect(pooled(settings, "app", port=container.port(6432)))
            query, outcome = in_thread(lambda: conn.execute("SELECT pg_sleep(60)"))
            running = (
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'"
                f" AND client_addr = '{address_of(container)}'"
            )
            wait_until(lambda: db.psql(running) == "1", 30, container.logs)
        container.stop()
        assert container.wait_exit(timeout=30) == 0, container.logs()
        if query is not None:
            query.join(timeout=30)
            assert isinstance(outcome.get("error"), psycopg.OperationalError), outcome
            assert "closing them" in container.logs()
            conn.close()
    finally:
        container.remove()
