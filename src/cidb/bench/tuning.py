"""Our postgresql.conf vs PostgreSQL's stock one (the Debian package's sample), same image,
same container limits, same mixed workload: OLTP, chunk status updates, vector look-ups."""

from __future__ import annotations

import statistics
import time

import psycopg

from cidb.bench.core import Metric, Result, step
from cidb.bench.pgbench import PgbenchRun, run_pgbench
from cidb.containers import Container, start_database
from cidb.settings import Settings

STOCK_CONF = "/usr/share/postgresql/17/postgresql.conf.sample"
PASSWORD = "bench-tuning-only"

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
SETUP = [
    "DROP TABLE IF EXISTS public.bench_accounts, public.bench_chunks",
    "CREATE TABLE public.bench_accounts (id integer PRIMARY KEY, balance bigint NOT NULL,"
    " filler char(84) NOT NULL DEFAULT '')",
    "INSERT INTO public.bench_accounts (id, balance)"
    " SELECT g, 0 FROM generate_series(1, %(accounts)s) g",
    "CREATE TABLE public.bench_chunks (id integer PRIMARY KEY, status smallint NOT NULL,"
    " n integer NOT NULL DEFAULT 0, content text NOT NULL,"
    " embedding extensions.vector(64) NOT NULL)",
    "INSERT INTO public.bench_chunks (id, status, content, embedding)"
    " SELECT g, 0, repeat(md5(g::text), 8),"
    " (SELECT array_agg(random())::real[] FROM generate_series(1, 64) WHERE g > 0)"
    "::extensions.vector"
    " FROM generate_series(1, %(chunks)s) g",
    "CREATE INDEX ON public.bench_chunks USING hnsw (embedding extensions.vector_cosine_ops)",
    "VACUUM ANALYZE public.bench_accounts, public.bench_chunks",
]


def start_db(config: str | None) -> Container:
    # The sample listens on localhost only; a container needs '*' to be reachable at all. The
    # image's schema needs its libraries (pgaudit's extension is created at init): loading them
    # is not tuning.
    libraries = "shared_preload_libraries=pg_stat_statements,auto_explain,pgaudit"
    extra = ["-c", f"config_file={config}", "-c", "listen_addresses=*", "-c", libraries]
    return start_database(PASSWORD, command=["postgres", *extra] if config else [], memory="2g")


def workload(network: str, seconds: float, accounts: int, chunks: int) -> PgbenchRun:
    return run_pgbench(
        {"oltp": (OLTP, 6), "chunk_update": (CHUNK_UPDATE, 3), "vector": (VECTOR, 1)},
        user="ci_migrator",
        password=PASSWORD,
        clients=8,
        seconds=seconds,
        network=network,
        extra=("-D", f"accounts={accounts}", "-D", f"chunks={chunks}"),
    )


def connect(db: Container) -> psycopg.Connection:
    """ci_migrator on DB's published port, autocommit."""
    conninfo = f"host=127.0.0.1 port={db.port(5432)} dbname=contextinject user=ci_migrator"
    return psycopg.connect(conninfo, password=PASSWORD, autocommit=True)


def dead_tuples(db: Container) -> int:
    with connect(db) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(1)
        row = conn.execute(
            "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"
            " WHERE relname IN ('bench_accounts', 'bench_chunks')"
        ).fetchone()
        return int(row[0]) if row else 0


def run(settings: Settings, quick: bool = False) -> Result:
    del settings  # this scenario starts its own two databases
    accounts, chunks, seconds, rounds = (
        (10_000, 2_000, 3.0, 1) if quick else (200_000, 50_000, 45.0, 2)
    )
    step("starting two databases (ours, stock)")
    ours, stock = start_db(None), start_db(STOCK_CONF)
    try:
        for db in (ours, stock):
            with connect(db) as conn:
                for statement in SETUP:
                    conn.execute(statement, {"accounts": accounts, "chunks": chunks})
        tps: dict[str, list[float]] = {"ours": [], "stock": []}
        for index in range(rounds):
            for name, db in (("ours", ours), ("stock", stock)):
                step(f"round {index + 1}/{rounds}: {name} postgresql.conf, {seconds:g} s")
                tps[name].append(workload(db.network, seconds, accounts, chunks).tps)
        dead = {name: dead_tuples(db) for name, db in (("ours", ours), ("stock", stock))}
        settings_line = {
            name: db.show("shared_buffers", "autovacuum_naptime")
            for name, db in (("ours", ours), ("stock", stock))
        }
    finally:
        ours.remove()
        stock.remove()
    result = Result("tuning", "our postgresql.conf", "stock postgresql.conf (defaults)")
    result.metrics += [
        Metric(
            "mixed workload TPS",
            statistics.mean(tps["ours"]),
            statistics.mean(tps["stock"]),
            "tps",
            lower_is_better=False,
        ),
        Metric("dead tuples after the run", dead["ours"] + 1, dead["stock"] + 1, "rows"),
    ]
    result.notes += [
        f"8 clients, {rounds} alternating round(s) of {seconds:g}s per config; OLTP 60%, chunk"
        f" updates 30%, vector top-10 10%; {accounts} accounts, {chunks} chunks; both containers"
        " limited to 2 GB",
        f"shared_buffers / autovacuum_naptime: ours {settings_line['ours']}, stock"
        f" {settings_line['stock']}; dead tuples are +1 so an empty table still gives a ratio",
    ]
    return result
