"""The deploy path: pooled client requests while the migrate job (`ci-db-migrate`, the image's
one-shot job) deploys a CREATE INDEX CONCURRENTLY, vs the same clients with no migration.

The job deploys a one-change Sqitch project of its own into the stack's registry and the scenario
reverts it afterwards, so the stack's plan is left as it was."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from plumbum import local

from cidb.bench import migration
from cidb.bench.core import LOWER, Metric, Result, percentile
from cidb.bench.pool import db_container
from cidb.settings import Settings

DOCKER = local["docker"]
IMAGE = os.environ.get("CI_DB_IMAGE", "ci-db:17")
TABLE = "public.bench_migrate_job"
INDEX = "bench_migrate_job_payload_idx"
PROJECT_MOUNT = "/usr/share/ci-db/sqitch"
PLAN = """\
%syntax-version=1.0.0
%project=cidb_bench_migrate_job
%uri=https://contextinject.ai/ci-db/bench/migrate-job

indexes/payload 2026-11-28T00:00:00Z cidb bench <bench@localhost> # index built concurrently
"""
SCRIPTS = {
    "deploy": f"""\
-- Non-transactional: CREATE INDEX CONCURRENTLY.
SET statement_timeout = 0;
SET lock_timeout = 0;
CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} (payload);
""",
    "revert": f"DROP INDEX CONCURRENTLY IF EXISTS public.{INDEX};\n",
    "verify": (
        "SELECT 1/count(*) FROM pg_catalog.pg_index"
        f" WHERE indexrelid = 'public.{INDEX}'::regclass AND indisvalid;\n"
    ),
}
CONF = '[core]\n\tengine = pg\n[engine "pg"]\n\tregistry = sqitch\n'


@contextmanager
def bench_project() -> Iterator[Path]:
    """The one-change project in a directory the image's uid 999 can read."""
    with tempfile.TemporaryDirectory(prefix="cidb-bench-migrate-") as tmp:
        top = Path(tmp)
        (top / "sqitch.plan").write_text(PLAN, encoding="utf-8")
        (top / "sqitch.conf").write_text(CONF, encoding="utf-8")
        for kind, sql in SCRIPTS.items():
            (top / kind / "indexes").mkdir(parents=True)
            (top / kind / "indexes" / "payload.sql").write_text(sql, encoding="utf-8")
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield top


def job_command(db_id: str, project: Path, *args: str) -> list[str]:
    """`docker run` of the image on the db container's network namespace, project mounted."""
    return [
        "run",
        "--rm",
        "--network",
        f"container:{db_id}",
        "--no-healthcheck",
        "-v",
        f"{project}:{PROJECT_MOUNT}:ro",
        "-e",
        "CI_MIGRATOR_PASSWORD",
        "-e",
        "PGPASSWORD",
        "-e",
        "DB_HOST=127.0.0.1",
        IMAGE,
        *args,
    ]


def run_job(settings: Settings, db_id: str, project: Path, *args: str) -> None:
    password = settings.passwords["ci_migrator"]
    DOCKER[job_command(db_id, project, *args)].with_env(
        CI_MIGRATOR_PASSWORD=password, PGPASSWORD=password
    )(timeout=1800)


def revert(settings: Settings, db_id: str, project: Path) -> None:
    uri = f"db:pg://ci_migrator@127.0.0.1:5432/{settings.database}"
    run_job(settings, db_id, project, "sqitch", "--chdir", PROJECT_MOUNT, "revert", "-y", uri)


@dataclass
class Load:
    """Client threads through PgBouncer as ci_app: an UPDATE and a read by key per request."""

    settings: Settings
    rows: int
    clients: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (start, latency ms)
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _work(self, seed: int) -> None:
        with psycopg.connect(self.settings.conninfo("app", pooled=True)) as conn:
            key = seed
            while not self._stop.is_set():
                key = (key * 7919 + 1) % self.rows + 1
                start = time.monotonic()
                try:
                    with conn.transaction():
                        conn.execute(f"UPDATE {TABLE} SET n = n + 1 WHERE id = %s", (key,))
                        conn.execute(f"SELECT payload FROM {TABLE} WHERE id = %s", (key,))
                except psycopg.Error:
                    with self._lock:
                        self.failed += 1
                    continue
                with self._lock:
                    self.samples.append((start, (time.monotonic() - start) * 1000))

    def __enter__(self) -> Load:
        for seed in range(self.clients):
            thread = threading.Thread(target=self._work, args=(seed,))
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def between(self, start: float, end: float) -> list[float]:
        with self._lock:
            return [ms for at, ms in self.samples if start <= at < end]


def prepare(settings: Settings, rows: int) -> None:
    with psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn:
        migration.prepare(conn, rows, TABLE)
        conn.execute(f"GRANT SELECT, UPDATE ON {TABLE} TO ci_app")


def drop(settings: Settings) -> None:
    with psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


def run(settings: Settings, quick: bool = False) -> Result:
    rows, rounds, clients = (20_000, 1, 4) if quick else (2_000_000, 3, 8)
    db_id = db_container()
    during: list[float] = []
    without: list[float] = []
    job_seconds: list[float] = []
    prepare(settings, rows)
    try:
        with bench_project() as project, Load(settings, rows, clients) as load:
            while len(load.samples) < clients * 10 and not load.failed:
                time.sleep(0.05)
            for index in range(rounds):
                # Interleaved: odd rounds measure the quiet window first.
                order = ["job", "quiet"] if index % 2 == 0 else ["quiet", "job"]
                for kind in order:
                    start = time.monotonic()
                    if kind == "job":
                        run_job(settings, db_id, project, "ci-db-migrate")
                        end = time.monotonic()
                        job_seconds.append(end - start)
                        during += load.between(start, end)
                        revert(settings, db_id, project)
                    else:
                        # As long as the job's last run took (the first round guesses 5 s).
                        time.sleep(job_seconds[-1] if job_seconds else 5.0)
                        without += load.between(start, time.monotonic())
            failed = load.failed
    finally:
        drop(settings)
    result = Result(
        "migrate-job",
        "pooled requests while the migrate job deploys a CREATE INDEX CONCURRENTLY",
        "the same requests, no migration",
    )
    result.metrics += [
        Metric(
            "pooled request p99",
            percentile(during, 99),
            percentile(without, 99),
            "ms",
            better=LOWER,
        ),
        Metric(
            "pooled request p50",
            percentile(during, 50),
            percentile(without, 50),
            "ms",
            better=LOWER,
        ),
        Metric("pooled request max", max(during), max(without), "ms", better=LOWER),
    ]
    result.notes.append(
        f"{rows} rows; {clients} ci_app clients through PgBouncer (UPDATE + SELECT by key per"
        f" request); {rounds} round(s) of job vs quiet window, interleaved; job runs (s):"
        f" {', '.join(f'{s:.1f}' for s in job_seconds)} (container start, login, deploy --verify);"
        f" requests {len(during)} during / {len(without)} without; failed requests: {failed}"
    )
    result.notes.append(
        f"the job is `{IMAGE} ci-db-migrate`, as the compose `migrate` service or a Kubernetes Job"
        " runs it; its project is reverted after each round"
    )
    return result
