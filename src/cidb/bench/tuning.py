"""Our postgresql.conf (as CI_DB_MEMORY sizes it) vs PostgreSQL's stock one (the Debian
package's sample), same image, same container limits, where tuning should matter for this
product (issue 14, part 2):

- the HNSW build of a chunks table of 1024-dim embeddings (maintenance memory, parallel workers);
- ingesting embedded chunks into that table with its HNSW index in place (WAL, checkpoints);
- a mixed OLTP + chunk update + vector workload whose working set exceeds stock shared_buffers;
- the HNSW build again in containers of a second memory size.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from cidb.bench.core import HIGHER, LOWER, Metric, Result, step
from cidb.bench.pgbench import PgbenchRun, run_pgbench
from cidb.containers import Container, start_database
from cidb.settings import Settings

STOCK_CONF = "/usr/share/postgresql/17/postgresql.conf.sample"
PASSWORD = "bench-tuning-only"
SIDES = ("ours", "stock")
BUILD_GOAL, INGEST_GOAL, MIXED_GOAL = 0.5, 1.3, 1.2

OLTP = """\\set aid random(1, :accounts)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE public.bench_accounts SET balance = balance + :delta WHERE id = :aid;
SELECT balance FROM public.bench_accounts WHERE id = :aid;
END;
"""
CHUNK_UPDATE = """\\set cid random(1, :chunks)
UPDATE public.bench_chunks SET status = 1 + :cid % 3, n = n + 1 WHERE id = :cid;
"""
VECTOR = """\\set cid random(1, :chunks)
SELECT id FROM public.bench_chunks
ORDER BY embedding <=> (SELECT embedding FROM public.bench_chunks WHERE id = :cid) LIMIT 10;
"""
# Random 1024-dim embeddings made by the server (no client transfer in the figures).
EMBEDDING = (
    "(SELECT array_agg(random())::real[] FROM generate_series(1, 1024) WHERE g > 0)"
    "::extensions.vector"
)
SETUP = [
    "DROP TABLE IF EXISTS public.bench_accounts, public.bench_chunks, public.bench_incoming,"
    " public.bench_plain",
    "CREATE TABLE public.bench_accounts (id integer PRIMARY KEY, balance bigint NOT NULL,"
    " filler char(84) NOT NULL DEFAULT '')",
    "INSERT INTO public.bench_accounts (id, balance)"
    " SELECT g, 0 FROM generate_series(1, %(accounts)s) g",
    "CREATE TABLE public.bench_chunks (id integer PRIMARY KEY, status smallint NOT NULL,"
    " n integer NOT NULL DEFAULT 0, content text NOT NULL,"
    " embedding extensions.vector(1024) NOT NULL)",
    "INSERT INTO public.bench_chunks (id, status, content, embedding)"
    f" SELECT g, 0, repeat(md5(g::text), 8), {EMBEDDING} FROM generate_series(1, %(chunks)s) g",
    # What ingestion will insert, generated now so the ingestion figure is the insert alone.
    "CREATE TABLE public.bench_incoming (LIKE public.bench_chunks INCLUDING DEFAULTS)",
    "INSERT INTO public.bench_incoming (id, status, content, embedding)"
    f" SELECT %(chunks)s + g, 0, repeat(md5(g::text), 8), {EMBEDDING}"
    " FROM generate_series(1, %(incoming)s) g",
    # The same rows into a table without the HNSW index: how much of ingestion is the graph.
    "CREATE TABLE public.bench_plain (LIKE public.bench_chunks INCLUDING DEFAULTS)",
    "VACUUM ANALYZE public.bench_accounts, public.bench_chunks, public.bench_incoming",
]
BUILD = (
    "CREATE INDEX bench_chunks_embedding ON public.bench_chunks"
    " USING hnsw (embedding extensions.vector_cosine_ops) WITH (m = 16, ef_construction = 200)"
)
INGEST = "INSERT INTO public.bench_chunks SELECT * FROM public.bench_incoming WHERE id %% 2 = %s"
WAL_STATS = (
    "SELECT w.wal_bytes, w.wal_fpi, c.num_timed + c.num_requested"
    " FROM pg_stat_wal AS w, pg_stat_checkpointer AS c"
)


@dataclass(frozen=True)
class Sizes:
    accounts: int
    chunks: int
    incoming: int
    seconds: float
    rounds: int


def start_db(stock: bool, memory: str, env: Mapping[str, str] | None = None) -> Container:
    # The sample listens on localhost only; a container needs '*' to be reachable at all. The
    # image's schema needs its libraries (pgaudit's extension is created at init): loading them
    # is not tuning.
    libraries = "shared_preload_libraries=pg_stat_statements,auto_explain,pgaudit"
    extra = ["-c", f"config_file={STOCK_CONF}", "-c", "listen_addresses=*", "-c", libraries]
    return start_database(
        PASSWORD, command=["postgres", *extra] if stock else [], memory=memory, env=env
    )


def connect(db: Container) -> psycopg.Connection:
    """ci_migrator on DB's published port, autocommit."""
    conninfo = f"host=127.0.0.1 port={db.port(5432)} dbname=contextinject user=ci_migrator"
    return psycopg.connect(conninfo, password=PASSWORD, autocommit=True)


def setup(db: Container, sizes: Sizes) -> None:
    params = {"accounts": sizes.accounts, "chunks": sizes.chunks, "incoming": sizes.incoming}
    with connect(db) as conn:
        for statement in SETUP:
            conn.execute(statement, params)


def build(db: Container) -> float:
    """Seconds for the HNSW build of bench_chunks (the index dropped first if there)."""
    with connect(db) as conn:
        conn.execute("DROP INDEX IF EXISTS public.bench_chunks_embedding")
        db.psql("CHECKPOINT")  # both sides start the build from clean buffers
        start = time.perf_counter()
        conn.execute(BUILD)
        return time.perf_counter() - start


def ingest(db: Container, half: int, rows: int) -> tuple[float, tuple[int, int, int]]:
    """Rows per second inserting half of bench_incoming into the indexed bench_chunks, and the
    WAL bytes, full-page images and checkpoints it caused."""
    with connect(db) as conn:
        before = conn.execute(WAL_STATS).fetchall()[0]
        start = time.perf_counter()
        conn.execute(INGEST, (half,))
        seconds = time.perf_counter() - start
        conn.execute("SELECT pg_stat_force_next_flush()")
        after = conn.execute(WAL_STATS).fetchall()[0]
    wal = (int(after[0] - before[0]), int(after[1] - before[1]), int(after[2] - before[2]))
    return rows / 2 / seconds, wal


def plain_insert(db: Container) -> float:
    """Seconds to insert all of bench_incoming into bench_plain (no HNSW index)."""
    with connect(db) as conn:
        start = time.perf_counter()
        conn.execute("INSERT INTO public.bench_plain SELECT * FROM public.bench_incoming")
        return time.perf_counter() - start


def workload(db: Container, sizes: Sizes) -> PgbenchRun:
    return run_pgbench(
        {"oltp": (OLTP, 6), "chunk_update": (CHUNK_UPDATE, 3), "vector": (VECTOR, 1)},
        user="ci_migrator",
        password=PASSWORD,
        clients=8,
        seconds=sizes.seconds,
        network=db.network,
        extra=("-D", f"accounts={sizes.accounts}", "-D", f"chunks={sizes.chunks}"),
    )


def dead_tuples(db: Container) -> int:
    """Dead rows left in the workload's tables (autovacuum's settings differ between sides)."""
    with connect(db) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(1)
        row = conn.execute(
            "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"
            " WHERE relname IN ('bench_accounts', 'bench_chunks')"
        ).fetchall()[0]
        return int(row[0])


def sizes_report(db: Container) -> str:
    with connect(db) as conn:
        row = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('public.bench_chunks')),"
            " pg_size_pretty(pg_relation_size('public.bench_chunks_embedding'))"
        ).fetchall()[0]
    return f"chunks table {row[0]} with its HNSW index {row[1]}"


def build_pair(memory: str, env: Mapping[str, str] | None, sizes: Sizes) -> dict[str, float]:
    """The HNSW build in a fresh pair of MEMORY containers (ours with ENV), seconds per side."""
    dbs = {"ours": start_db(False, memory, env), "stock": start_db(True, memory)}
    try:
        for db in dbs.values():
            setup(db, sizes)
        return {name: build(db) for name, db in dbs.items()}
    finally:
        for db in dbs.values():
            db.remove()


def run(settings: Settings, quick: bool = False) -> Result:
    del settings  # this scenario starts its own databases
    sizes = Sizes(10_000, 1_000, 200, 3.0, 1) if quick else Sizes(200_000, 20_000, 2_000, 30.0, 2)
    step("starting two 2 GB databases (ours, stock)")
    dbs = {"ours": start_db(False, "2g"), "stock": start_db(True, "2g")}
    dead: dict[str, int] = {}
    builds: dict[str, float] = {}
    ingests: dict[str, list[float]] = {name: [] for name in SIDES}
    wal: dict[str, tuple[int, int, int]] = {}
    tps: dict[str, list[float]] = {name: [] for name in SIDES}
    plain: dict[str, float] = {}
    try:
        for name, db in dbs.items():
            step(f"{name}: loading {sizes.chunks:,} x 1024-dim chunks, {sizes.accounts:,} accounts")
            setup(db, sizes)
        for name, db in dbs.items():
            step(f"HNSW build: {name} postgresql.conf")
            builds[name] = build(db)
            step(f"HNSW build: {name} took {builds[name]:.1f} s")
        for half in (0, 1):
            for name, db in dbs.items() if half == 0 else reversed(dbs.items()):
                step(f"ingestion {half + 1}/2: {name}, {sizes.incoming // 2:,} embedded chunks")
                rate, wal[name] = ingest(db, half, sizes.incoming)
                ingests[name].append(rate)
        plain = {name: sizes.incoming / plain_insert(db) for name, db in dbs.items()}
        built = {name: sizes_report(db) for name, db in dbs.items()}
        for name, db in dbs.items():
            # Not counted: the first seconds after ingestion read a cold index on either side.
            step(f"mixed workload warm-up: {name}, {sizes.seconds / 3:g} s")
            workload(db, Sizes(sizes.accounts, sizes.chunks, 0, sizes.seconds / 3, 1))
        for index in range(sizes.rounds):
            for name, db in dbs.items() if index % 2 == 0 else reversed(dbs.items()):
                step(f"mixed workload {index + 1}/{sizes.rounds}: {name}, {sizes.seconds:g} s")
                tps[name].append(workload(db, sizes).tps)
        dead = {name: dead_tuples(db) + 1 for name, db in dbs.items()}
        shown = {
            name: db.show("shared_buffers", "maintenance_work_mem", "max_wal_size", "wal_buffers")
            for name, db in dbs.items()
        }
    finally:
        for db in dbs.values():
            db.remove()
    step("second memory size: HNSW build in 4 GB containers (ours with CI_DB_MEMORY=4GB)")
    builds_4g = build_pair("4g", {"CI_DB_MEMORY": "4GB"}, sizes)
    found = result(sizes, builds, builds_4g, ingests, wal, tps, shown, built, plain)
    found.metrics.append(
        Metric("dead tuples after the mixed workload", dead["ours"], dead["stock"], "rows",
               better=LOWER)
    )  # fmt: skip
    found.notes.append("dead tuples are counted +1 so an empty table still gives a ratio")
    return found


def result(
    sizes: Sizes,
    builds: dict[str, float],
    builds_4g: dict[str, float],
    ingests: dict[str, list[float]],
    wal: dict[str, tuple[int, int, int]],
    tps: dict[str, list[float]],
    shown: dict[str, str],
    built: dict[str, str],
    plain: dict[str, float],
) -> Result:
    found = Result("tuning", "our postgresql.conf", "stock postgresql.conf (defaults)")
    found.metrics += [
        Metric(
            f"HNSW build time, 2 GB (goal <= {BUILD_GOAL})",
            builds["ours"],
            builds["stock"],
            "s",
            better=LOWER,
        ),
        Metric(
            "HNSW build time, 4 GB, CI_DB_MEMORY=4GB",
            builds_4g["ours"],
            builds_4g["stock"],
            "s",
            better=LOWER,
        ),
        Metric(
            f"ingestion into the indexed table (goal >= {INGEST_GOAL})",
            statistics.mean(ingests["ours"]),
            statistics.mean(ingests["stock"]),
            "rows/s",
            better=HIGHER,
        ),
        Metric(
            f"mixed workload TPS, working set > stock buffers (goal >= {MIXED_GOAL})",
            statistics.mean(tps["ours"]),
            statistics.mean(tps["stock"]),
            "tps",
            better=HIGHER,
        ),
    ]
    found.notes += [
        f"{sizes.chunks:,} x 1024-dim random embeddings (+ 256 B of text each) in bench_chunks;"
        f" HNSW m=16, ef_construction=200 (the spec's), cosine; {built['ours']} (ours)",
        f"HNSW build (s): 2 GB ours {builds['ours']:.1f}, stock {builds['stock']:.1f};"
        f" 4 GB ours {builds_4g['ours']:.1f}, stock {builds_4g['stock']:.1f}; one build per side",
        f"ingestion: INSERT ... SELECT of {sizes.incoming:,} pre-generated embedded chunks into"
        " the indexed table, in two halves (order alternating); WAL bytes / full-page images /"
        f" checkpoints of the second half: ours {wal['ours']}, stock {wal['stock']}; the same"
        f" rows into a table without the HNSW index: ours {plain['ours']:.0f} rows/s, stock"
        f" {plain['stock']:.0f} rows/s (what WAL and checkpoint settings can act on)",
        f"mixed: 8 clients, a {sizes.seconds / 3:g} s warm-up per config (not counted), then"
        f" {sizes.rounds} alternating round(s) of {sizes.seconds:g} s per config (median);"
        f" OLTP 60%, chunk status updates 30%, vector top-10 10% over {sizes.accounts:,}"
        f" accounts and the {sizes.chunks:,} chunks; TPS per round ours {fmt(tps['ours'])},"
        f" stock {fmt(tps['stock'])}",
        f"shared_buffers / maintenance_work_mem / max_wal_size / wal_buffers: ours {shown['ours']},"
        f" stock {shown['stock']}; containers limited to 2 GB (4 GB for the second size)",
    ]
    return found


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)
