"""The deploy path: CI_DB_DEPLOY=off serves at once, the migrate job deploys while clients work."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fixtures_db import FreshDb
from fixtures_images import DB_IMAGE, ROOT
from fixtures_stack import Stack
from support.docker import (
    SESSION_LABEL,
    Container,
    docker,
    run_container,
    stops_with_one_error,
    unique_name,
    volume_is_empty,
)
from support.pgbouncer import AUTH_PASSWORD, start_pooler

PASSWORDS = {
    "POSTGRES_PASSWORD": "deploy-test-superuser",
    "CI_MIGRATOR_PASSWORD": "deploy-test-migrator",
    "CI_APP_PASSWORD": "deploy-test-app",
    "PGBOUNCER_AUTH_PASSWORD": AUTH_PASSWORD,
}
# Enough rows that a concurrent index build on them takes seconds on a shared 2-core machine.
LONG_CHANGE_ROWS = 1_000_000
LONG_CHANGE = "indexes/audit_logs_deploy_probe"
CLIENTS = 8
OWNER_CAN_CREATE = "SELECT has_database_privilege('ci_owner', 'contextinject', 'CREATE')"


@pytest.fixture(scope="module")
def network() -> Iterator[str]:
    name = unique_name("cidb-test-net")
    docker("network", "create", "--label", SESSION_LABEL, name)
    yield name
    docker("network", "rm", name, retcode=None)


@pytest.fixture(scope="module")
def off_db(images: dict[str, str], network: str) -> Iterator[Container]:
    """A server started with CI_DB_DEPLOY=off on a fresh volume, reachable as `db`."""
    db = run_container(
        DB_IMAGE,
        env={**PASSWORDS, "CI_DB_DEPLOY": "off"},
        extra=("--network", network, "--network-alias", "db", "--health-interval", "1s"),
    )
    try:
        db.wait_healthy(timeout=180)
        yield db
    finally:
        db.remove()


def migrate_job(network: str, *args: str, sqitch_dir: Path | None = None) -> Container:
    """The migrate job as a Kubernetes Job runs it: the image with `ci-db-migrate ARGS`."""
    volumes = [f"{sqitch_dir}:/usr/share/ci-db/sqitch:ro"] if sqitch_dir else []
    return run_container(
        DB_IMAGE,
        env={"CI_MIGRATOR_PASSWORD": PASSWORDS["CI_MIGRATOR_PASSWORD"]},
        prefix="cidb-test-migrate",
        ports=(),
        volumes=volumes,
        extra=("--network", network, "--no-healthcheck"),
        command=("ci-db-migrate", *args),
    )


def plan_state_check(db: Container) -> int:
    """Exit code of the image's healthcheck as an on-start server runs it (last change deployed)."""
    code, _, _ = db.exec_result("env", "CI_DB_DEPLOY=on-start", "/usr/local/bin/ci-db-healthcheck")
    return code


def test_off_serves_with_roles_and_no_application_tables(off_db: Container) -> None:
    """CI_DB_DEPLOY=off: healthy, passwords applied, registry ready, no change, no CREATE lent."""
    assert off_db.health() == "healthy"
    with psycopg.connect(
        host="127.0.0.1",
        port=off_db.port(5432),
        dbname="contextinject",
        user="ci_app",
        password=PASSWORDS["CI_APP_PASSWORD"],
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("ci_app",)
    assert off_db.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"
    assert off_db.psql("SELECT count(*) FROM sqitch.changes") == "0"
    assert off_db.psql("SELECT project FROM sqitch.projects") == "contextinject"
    assert off_db.psql(OWNER_CAN_CREATE) == "f"
    assert "not deploying the plan" in off_db.logs()


@pytest.mark.parametrize("value", ["always", "On-Start", "false"])
def test_bad_deploy_value_is_refused_before_the_volume_is_touched(
    fresh_db: FreshDb, volume: str, value: str
) -> None:
    """A CI_DB_DEPLOY other than on-start/off: one error line, exit, the volume stays empty."""
    env = {"POSTGRES_PASSWORD": "pw", "CI_DB_DEPLOY": value}
    db = fresh_db(env, wait=False, volumes=[f"{volume}:/var/lib/postgresql/data"])
    stops_with_one_error(db, f"CI_DB_DEPLOY='{value}'")
    assert volume_is_empty(volume)


def test_migrate_job_deploys_to_a_tag_then_to_the_last_change(
    off_db: Container, network: str
) -> None:
    """`ci-db-migrate --to @v1` stops at the tag (the rework of functions/current_tenant_id
    after it is still pending, and the healthcheck says so); a second run deploys the rest, a
    third has nothing more to do."""
    assert plan_state_check(off_db) != 0
    job = migrate_job(network, "--to", "@v1")
    assert job.wait_exit(timeout=300) == 0, job.logs()
    job.remove()
    assert off_db.psql("SELECT string_agg(tag, ' ') FROM sqitch.tags") == "@v1"
    assert plan_state_check(off_db) != 0
    rest = migrate_job(network)
    assert rest.wait_exit(timeout=120) == 0, rest.logs()
    rest.remove()
    assert plan_state_check(off_db) == 0
    again = migrate_job(network)
    assert again.wait_exit(timeout=120) == 0, again.logs()
    assert "Nothing to deploy" in again.logs()
    again.remove()
    assert off_db.psql(OWNER_CAN_CREATE) == "f"


def test_migrate_job_fails_clearly_on_a_wrong_password(network: str, off_db: Container) -> None:
    """A refused password stops the job at once (well inside its default 120 s wait for the
    database) with one line naming the variable to fix."""
    job = run_container(
        DB_IMAGE,
        env={"CI_MIGRATOR_PASSWORD": "wrong"},
        ports=(),
        extra=("--network", network, "--no-healthcheck"),
        command=("ci-db-migrate",),
    )
    try:
        assert job.wait_exit(timeout=60) != 0
        assert "ci_migrator's password was refused" in job.logs()
        assert "CI_MIGRATOR_PASSWORD" in job.logs()
    finally:
        job.remove()


def probe_partition() -> str:
    """audit_logs' partition of this month (UTC): where the clients' rows go."""
    return f"audit_logs_p{datetime.now(UTC):%Y%m}01"


def long_change_project(tmp_path: Path) -> Path:
    """The real plan plus one last change: an index built concurrently on audit_logs' current
    partition (the table is partitioned by month, docs/partitions.md: a partitioned table takes
    no CONCURRENTLY, each partition does), the one the clients write into."""
    partition = probe_partition()
    project = tmp_path / "sqitch"
    shutil.copytree(ROOT / "sqitch", project)
    with (project / "sqitch.plan").open("a", encoding="utf-8") as plan:
        plan.write(
            f"{LONG_CHANGE} [schema/audit_logs] 2026-11-28T08:00:00Z test <test@localhost>"
            " # a long change for the deploy test\n"
        )
    scripts = {
        "deploy": (
            "-- Non-transactional: CREATE INDEX CONCURRENTLY.\n"
            "SET statement_timeout = 0;\nSET lock_timeout = 0;\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_logs_deploy_probe_idx\n"
            f"    ON public.{partition} (tenant_id, resource_type, created_at);\n"
        ),
        "revert": "DROP INDEX CONCURRENTLY IF EXISTS public.audit_logs_deploy_probe_idx;\n",
        "verify": (
            "SELECT 1/count(*) FROM pg_catalog.pg_index\n"
            "WHERE indexrelid = 'public.audit_logs_deploy_probe_idx'::regclass AND indisvalid;\n"
        ),
    }
    for kind, sql in scripts.items():
        path = project / kind / f"{LONG_CHANGE}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    for path in [project, *project.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return project


@dataclass
class Clients:
    """CLIENTS threads writing and reading audit_logs as ci_app through PgBouncer."""

    port: int
    tenant: str = field(default_factory=lambda: str(uuid.uuid4()))
    done: int = 0
    failures: list[BaseException] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _work(self) -> None:
        conninfo = (
            f"host=127.0.0.1 port={self.port} dbname=contextinject user=ci_app"
            f" password={PASSWORDS['CI_APP_PASSWORD']} connect_timeout=10"
        )
        with psycopg.connect(conninfo) as conn:
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    with conn.transaction():
                        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (self.tenant,))
                        row = conn.execute(
                            "INSERT INTO public.audit_logs (tenant_id, action, resource_type)"
                            " VALUES (%s, 'deploy.probe', 'document') RETURNING id",
                            (self.tenant,),
                        ).fetchone()
                        assert row is not None
                        conn.execute(
                            "SELECT action FROM public.audit_logs WHERE id = %s", (row[0],)
                        ).fetchone()
                except Exception as exc:  # every failed request is the finding
                    with self._lock:
                        self.failures.append(exc)
                    continue
                with self._lock:
                    self.done += 1
                    self.latencies_ms.append((time.perf_counter() - start) * 1000)

    def start(self) -> None:
        for _ in range(CLIENTS):
            thread = threading.Thread(target=self._work)
            thread.start()
            self._threads.append(thread)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.done < count and not self.failures:
            assert time.monotonic() < deadline, f"clients made {self.done} requests, not {count}"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def index_building(db: Container) -> bool:
    return (
        db.psql(
            "SELECT count(*) FROM pg_stat_progress_create_index"
            f" WHERE relid = 'public.{probe_partition()}'::regclass"
        )
        != "0"
    )


def requests_during_build(db: Container, job: Container, clients: Clients) -> int:
    """Client requests completed between the first and the last time the build was seen."""
    deadline = time.monotonic() + 600
    while not index_building(db):
        assert job.running(), f"the job ended before its index build was seen:\n{job.logs()}"
        assert time.monotonic() < deadline, job.logs()
    first = last = clients.done
    while index_building(db):
        last = clients.done
        assert time.monotonic() < deadline, job.logs()
    return last - first


def test_long_change_by_the_migrate_job_fails_no_pooled_client(
    off_db: Container, network: str, tmp_path: Path
) -> None:
    """A concurrent index build deployed by the job while 8 clients read and write audit_logs
    through PgBouncer: the build is seen running, clients keep working, none fails."""
    off_db.psql(
        "INSERT INTO public.audit_logs (tenant_id, action, resource_type)"
        " SELECT gen_random_uuid(), 'bulk.' || (g % 50), 'document'"
        f" FROM generate_series(1, {LONG_CHANGE_ROWS}) AS g; ANALYZE public.audit_logs"
    )
    project = long_change_project(tmp_path)
    pooler = start_pooler(network)
    clients = Clients(port=pooler.port(6432))
    job = None
    try:
        clients.start()
        clients.wait_for(CLIENTS * 5)
        job = migrate_job(network, sqitch_dir=project)
        served = requests_during_build(off_db, job, clients)
        assert job.wait_exit(timeout=120) == 0, job.logs()
    finally:
        clients.stop()
        pooler.remove()
        if job:
            job.remove()
    assert clients.failures == [], clients.failures[:3]
    assert served > 0
    assert off_db.psql(f"SELECT count(*) FROM sqitch.changes WHERE change = '{LONG_CHANGE}'") == "1"
    assert (
        off_db.psql(
            "SELECT indisvalid FROM pg_index"
            " WHERE indexrelid = 'public.audit_logs_deploy_probe_idx'::regclass"
        )
        == "t"
    )


def test_compose_migrate_service_is_only_in_its_profile(stack: Stack) -> None:
    """The default `up` has db and pgbouncer only; `run --rm migrate` deploys against db."""
    assert set(stack.compose("config", "--services").split()) == {"db", "pgbouncer"}
    profiled = stack.compose("--profile", "migrate", "config", "--services").split()
    assert "migrate" in profiled
    stack.compose("run", "--rm", "--no-deps", "migrate")
    assert stack.container("db").health() == "healthy"
