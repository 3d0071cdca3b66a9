"""Online migrations under write load: CREATE INDEX CONCURRENTLY vs no migration (and vs a plain
CREATE INDEX), and an ALTER queued behind a long reader with and without lock_timeout."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import psycopg

from cidb.bench.core import LOWER, Metric, Result, percentile, step
from cidb.bench.pgbench import PgbenchRun, run_pgbench
from cidb.settings import Settings

TABLE = "public.bench_migration"
WRITES = """\
\\set id random(1, :rows)
UPDATE public.bench_migration SET n = n + 1 WHERE id = :id;
INSERT INTO public.bench_migration (payload) VALUES (md5(random()::text));
"""


def prepare(conn: psycopg.Connection, rows: int, table: str = TABLE) -> None:
    """A fresh TABLE of ROWS rows for a long change to rewrite or index (autocommit: VACUUM)."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " payload text NOT NULL, n integer NOT NULL DEFAULT 0)"
    )
    conn.execute(
        f"INSERT INTO {table} (payload) SELECT md5(g::text) FROM generate_series(1, %s) AS g",
        (rows,),
    )
    conn.execute(f"VACUUM ANALYZE {table}")


def under_load(
    settings: Settings, rows: int, seconds: float, migration: Callable[[], None] | None
) -> PgbenchRun:
    """pgbench writers for SECONDS; MIGRATION starts after a fifth of them, in a thread."""
    step(f"{seconds:g} s of writes, {'with a migration' if migration else 'no migration'}")
    worker = None
    if migration:

        def delayed() -> None:
            time.sleep(seconds / 5)
            migration()

        worker = threading.Thread(target=delayed)
        worker.start()
    run = run_pgbench(
        WRITES,
        user="ci_migrator",
        password=settings.passwords["ci_migrator"],
        clients=4,
        seconds=seconds,
        extra=("-D", f"rows={rows}"),
    )
    if worker:
        worker.join()
    return run


def ddl(settings: Settings, *statements: str) -> Callable[[], None]:
    def apply() -> None:
        # lock_timeout firing is exactly what the bounded variant shows.
        with (
            psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn,
            contextlib.suppress(psycopg.errors.LockNotAvailable),
        ):
            for statement in statements:
                conn.execute(statement)

    return apply


def behind_reader(settings: Settings, reader_s: float, lock_timeout: str) -> Callable[[], None]:
    """A reader holds its lock for READER_S; an ALTER then queues behind it."""

    def apply() -> None:
        with psycopg.connect(settings.conninfo("migrator")) as reader:
            reader.execute(f"SELECT count(*) FROM {TABLE}")
            alter = threading.Thread(
                target=ddl(
                    settings,
                    f"SET lock_timeout = '{lock_timeout}'",
                    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS extra integer",
                )
            )
            alter.start()
            time.sleep(reader_s)
            reader.rollback()
            alter.join()
        ddl(settings, f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS extra")()

    return apply


def tail_metrics(label: str, variant: PgbenchRun, baseline: PgbenchRun) -> list[Metric]:
    return [
        Metric(
            f"{label} p99",
            percentile(variant.latencies_ms, 99),
            percentile(baseline.latencies_ms, 99),
            "ms",
            better=LOWER,
        ),
        Metric(
            f"{label} max",
            max(variant.latencies_ms),
            max(baseline.latencies_ms),
            "ms",
            better=LOWER,
        ),
    ]


def run(settings: Settings, quick: bool = False) -> Result:
    rows, seconds, reader_s = (20_000, 3.0, 1.5) if quick else (400_000, 20.0, 8.0)
    index = f"CREATE INDEX {{}} bench_migration_payload_idx ON {TABLE} (payload)"
    drop = "DROP INDEX IF EXISTS public.bench_migration_payload_idx"
    with psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn:
        prepare(conn, rows)
        try:
            baseline = under_load(settings, rows, seconds, None)
            concurrent = under_load(
                settings, rows, seconds, ddl(settings, index.format("CONCURRENTLY"))
            )
            conn.execute(drop)
            plain = under_load(settings, rows, seconds, ddl(settings, index.format("")))
            conn.execute(drop)
            unbounded = under_load(settings, rows, seconds, behind_reader(settings, reader_s, "0"))
            bounded = under_load(settings, rows, seconds, behind_reader(settings, reader_s, "1s"))
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    result = Result("migration", "write load during a migration", "the same load, no migration")
    result.metrics += tail_metrics("CREATE INDEX CONCURRENTLY", concurrent, baseline)
    result.metrics += tail_metrics("plain CREATE INDEX", plain, baseline)
    result.metrics += tail_metrics("ALTER behind reader, no lock_timeout", unbounded, baseline)
    result.metrics += tail_metrics("ALTER behind reader, lock_timeout 1s", bounded, baseline)
    failed = [r.failed for r in (baseline, concurrent, plain, unbounded, bounded)]
    result.notes.append(
        f"{rows} rows; 4 pgbench writers for {seconds:g}s per variant; the reader holds its lock"
        f" {reader_s:g}s; failed transactions (baseline, CIC, plain, unbounded, bounded): {failed}"
    )
    result.notes.append(
        "with lock_timeout the ALTER gives up after 1s (cidb migrate retries it later), so writers"
        " stall about 1s instead of for the reader's whole duration"
    )
    return result
