"""Time-partitioned logs (issue 17): a pg_partman monthly partition set vs one plain table with
the same rows and the spec's query_logs indexes. Retention (drop a month vs DELETE it), inserts,
and a tenant's last-7-days query with partition pruning.

Retention is measured twice: with the month in memory, as the load left it, and with its pages
evicted from shared_buffers and the page cache first, as an old month is at scale."""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import psycopg

from cidb.bench.core import HIGHER, LOWER, NEITHER, Metric, Result, interleaved, step
from cidb.bench.pool import db_container, superuser_sql
from cidb.containers import docker
from cidb.settings import Settings

PART, FLAT = "public.bench_logs_partitioned", "public.bench_logs_plain"
TENANTS = 100
MONTHS = 12
COLUMNS = "id, tenant_id, project_id, query, latency_ms, created_at"
# Row G of a deterministic data set: TENANTS tenants (a project each), spread evenly over MONTHS
# months back from now in insertion order, as a log table is appended (a month's rows are
# adjacent in the plain table's heap). Generated in the server (INSERT ... SELECT
# generate_series): no client round trip. New rows (the insert measurements) get random ids.
ROW = (
    "{id}, md5('t' || (g % {tenants}))::uuid, md5('p' || (g % {tenants}))::uuid,"
    " 'query ' || g, g % 900, now() - ({rows} - g) * interval '{step} microseconds'"
)
SPAN_SECONDS = MONTHS * 30 * 86400


def tenant(number: int) -> str:
    """The uuid of tenant NUMBER as ROW makes it (md5 of 't' || number)."""
    return str(uuid.UUID(hashlib.md5(f"t{number}".encode()).hexdigest()))


def row_sql(rows: int, span_seconds: int, *, new: bool = True) -> str:
    """A SELECT of ROWS rows created within the last SPAN_SECONDS."""
    row = ROW.format(
        id="gen_random_uuid()" if new else "md5(g::text)::uuid",
        tenants=TENANTS,
        rows=rows,
        step=span_seconds * 1_000_000 // rows,
    )
    return f"SELECT {row} FROM generate_series(1, {rows}) AS g"


def prepare(conn: psycopg.Connection, rows: int) -> None:
    """Both tables with the same ROWS rows, then the query_logs indexes, then ANALYZE."""
    drop(conn)
    definition = (
        "(id uuid NOT NULL, tenant_id uuid NOT NULL, project_id uuid NOT NULL, query text NOT NULL,"
        " latency_ms integer, created_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute(f"CREATE TABLE {FLAT} {definition}")
    conn.execute(f"CREATE TABLE {PART} {definition} PARTITION BY RANGE (created_at)")
    conn.execute(
        "SELECT partman.create_parent(p_parent_table := %s, p_control := 'created_at',"
        " p_interval := '1 month', p_premake := 2, p_default_table := false,"
        " p_template_table := 'false', p_jobmon := false,"
        " p_start_partition := date_trunc('month', now() - %s * interval '1 second')::text)",
        (PART, SPAN_SECONDS),
    )
    conn.execute(f"CREATE TABLE {PART}_default PARTITION OF {PART} DEFAULT")
    for table in (FLAT, PART):
        step(f"loading {rows} rows into {table}")
        conn.execute(f"INSERT INTO {table} ({COLUMNS}) {row_sql(rows, SPAN_SECONDS, new=False)}")
    for table in (FLAT, PART):
        step(f"indexing {table} (the spec's query_logs indexes and a primary key)")
        name = table.split(".")[1]
        key = "id" if table == FLAT else "id, created_at"
        conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({key})")
        conn.execute(f"CREATE INDEX {name}_tenant_project_idx ON {table} (tenant_id, project_id)")
        conn.execute(f"CREATE INDEX {name}_created_at_idx ON {table} (created_at)")
        conn.execute(f"VACUUM ANALYZE {table}")
    # WAL is counted cluster-wide: an autovacuum of the rows a DELETE left behind would be
    # counted against the next round (and the DELETE's own cleanup is not part of "removing").
    relations = conn.execute(
        "SELECT c.oid::regclass::text FROM pg_class AS c WHERE c.relkind = 'r'"
        " AND (c.oid = %s::regclass"
        "      OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass))",
        (FLAT, PART),
    ).fetchall()
    for (relation,) in relations:
        conn.execute(f"ALTER TABLE {relation} SET (autovacuum_enabled = off)")


def drop(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM partman.part_config WHERE parent_table = %s", (PART,))
    conn.execute(f"DROP TABLE IF EXISTS {PART}, {FLAT}")


def wal_lsn(conn: psycopg.Connection) -> str:
    return str(conn.execute("SELECT pg_current_wal_insert_lsn()").fetchall()[0][0])


def wal_since(conn: psycopg.Connection, lsn: str) -> float:
    return float(
        conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (lsn,)).fetchall()[
            0
        ][0]
    )


class Inserter(threading.Thread):
    """INSERT_ONE over and over on a connection of its own: each call's latency (ms), so the
    longest is the stall a writer saw, and the database errors it met."""

    def __init__(self, conninfo: str, insert_one: Callable[[psycopg.Connection], object]) -> None:
        super().__init__(daemon=True)
        self.conninfo, self.insert_one = conninfo, insert_one
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self.stop.is_set():
                start = time.perf_counter()
                try:
                    self.insert_one(conn)
                except psycopg.Error as exc:
                    self.errors.append(str(exc))
                self.latencies.append((time.perf_counter() - start) * 1000)


@contextmanager
def inserting(
    conninfo: str, insert_one: Callable[[psycopg.Connection], object]
) -> Iterator[Inserter]:
    """An Inserter running for the block, already writing when the block starts."""
    inserter = Inserter(conninfo, insert_one)
    inserter.start()
    while not inserter.latencies:
        time.sleep(0.01)
    try:
        yield inserter
    finally:
        inserter.stop.set()
        inserter.join(60)


def oldest_month(conn: psycopg.Connection) -> tuple[str, str, int]:
    """The oldest partition of PART, its upper bound and its row count."""
    name, upper = conn.execute(
        "SELECT c.oid::regclass::text, substring(pg_get_expr(c.relpartbound, c.oid)"
        " FROM $$TO \\('([^']+)'$$) FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'"
        " ORDER BY 2 LIMIT 1",
        (PART,),
    ).fetchall()[0]
    rows = conn.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    return str(name), str(upper), int(rows)


Sample = tuple[float, float, float]  # ms, WAL bytes, longest insert stall (ms) meanwhile


def measure(
    settings: Settings,
    conn: psycopg.Connection,
    table: str,
    statements: tuple[str, ...],
    *,
    writer: bool,
) -> Sample:
    """STATEMENTS run one after the other, alone or (WRITER) while a writer inserts into TABLE:
    alone, the time and WAL are the statements' own; with the writer, its longest insert."""
    with ExitStack() as stack:
        inserter = None
        if writer:
            inserter = stack.enter_context(
                inserting(
                    settings.conninfo("migrator"),
                    lambda w: w.execute(f"INSERT INTO {table} ({COLUMNS}) {row_sql(1, 60)}"),
                )
            )
        lsn = wal_lsn(conn)
        start = time.perf_counter()
        for statement in statements:
            conn.execute(statement)
        took = (time.perf_counter() - start) * 1000
        wal = wal_since(conn, lsn)
    return took, wal, max(inserter.latencies) if inserter else 0.0


def detach_and_drop(partition: str) -> tuple[str, ...]:
    return (f"ALTER TABLE {PART} DETACH PARTITION {partition}", f"DROP TABLE {partition}")


def delete_before(upper: str) -> tuple[str, ...]:
    return (f"DELETE FROM {FLAT} WHERE created_at < '{upper}'",)


def retention_round(
    settings: Settings, conn: psycopg.Connection, *, partman: bool, writer: bool
) -> tuple[Sample, Sample, Sample, int]:
    """The oldest month dropped (pg_partman's retention step if PARTMAN, else a bare DETACH and
    DROP TABLE), the same rows DELETEd from FLAT, alone or beside a WRITER, then the VACUUM that
    makes their space reusable (alone); and the month's row count."""
    name, upper, rows = oldest_month(conn)
    how = "pg_partman's drop_partition_time" if partman else "DETACH + DROP TABLE"
    beside = " beside a writer" if writer else ""
    step(f"retention: {name} ({rows} rows) dropped ({how}) vs the same rows deleted{beside}")
    if partman:
        # What run_maintenance does for a set past its retention, with the retention that makes
        # exactly that month past it.
        retention = conn.execute(
            "SELECT (now() - %s::timestamptz - interval '1 day')::text", (upper,)
        ).fetchall()[0][0]
        drop_month: tuple[str, ...] = (
            f"SELECT partman.drop_partition_time('{PART}', p_retention := '{retention}',"
            " p_keep_table := false)",
        )
    else:
        drop_month = detach_and_drop(name)
    dropped = measure(settings, conn, PART, drop_month, writer=writer)
    deleted = measure(settings, conn, FLAT, delete_before(upper), writer=writer)
    # The DROP's time is mostly the kernel freeing the month's files; the DELETE frees nothing
    # until a VACUUM has removed the dead rows from the heap and from every index.
    vacuumed = measure(settings, conn, FLAT, (f"VACUUM {FLAT}",), writer=False)
    gone = conn.execute("SELECT to_regclass(%s) IS NULL", (name,)).fetchall()[0][0]
    assert gone, f"the retention left {name}"
    return dropped, deleted, vacuumed, rows


def relation_files(conn: psycopg.Connection, relation: str) -> list[tuple[str, int]]:
    """The data files (path under PGDATA, filenode) of RELATION, its TOAST table and their
    indexes."""
    rows = conn.execute(
        "WITH r AS (SELECT %s::regclass::oid AS oid"
        " UNION SELECT reltoastrelid FROM pg_class WHERE oid = %s::regclass AND reltoastrelid <> 0)"
        " SELECT pg_relation_filepath(c.oid), pg_relation_filenode(c.oid) FROM pg_class AS c"
        " WHERE c.oid IN (SELECT oid FROM r)"
        "    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM r))",
        (relation, relation),
    ).fetchall()
    return [(str(path), int(node)) for path, node in rows]


# Every segment and fork of each file: flushed, then dropped from the page cache (GNU dd's
# "iflag=nocache count=0" is posix_fadvise DONTNEED over the whole file).
UNCACHE_FILES = (
    'cd "$PGDATA" && for f; do for s in "$f" "$f".* "$f"_*; do [ -e "$s" ] || continue;'
    ' sync "$s" && dd if="$s" iflag=nocache count=0 status=none || exit 1; done; done'
)
EVICT_BUFFERS = """SELECT count(*) FILTER (WHERE NOT pg_buffercache_evict(bufferid))
FROM pg_buffercache
WHERE reldatabase = (SELECT oid FROM pg_database WHERE datname = :'db')
  AND relfilenode = ANY (:'nodes'::oid[]);
"""


def evict(conn: psycopg.Connection, container: str, relation: str) -> None:
    """RELATION's pages out of shared_buffers (written first when dirty) and out of the OS page
    cache: its next reader reads it from disk, as an old month at scale is read."""
    files = relation_files(conn, relation)
    database = str(conn.info.dbname)
    nodes = "{" + ",".join(str(node) for _, node in files) + "}"
    kept = superuser_sql(container, EVICT_BUFFERS, database="postgres", db=database, nodes=nodes)
    if kept.strip() != "0":
        raise RuntimeError(f"{kept.strip()} buffers of {relation} stayed pinned in shared_buffers")
    docker("exec", container, "sh", "-c", UNCACHE_FILES, "sh", *(path for path, _ in files))


@contextmanager
def buffercache(container: str) -> Iterator[None]:
    """pg_buffercache in the postgres database for the block (pg_buffercache_evict), dropped
    after unless it was there before."""
    present = "SELECT count(*) FROM pg_extension WHERE extname = 'pg_buffercache';"
    had = superuser_sql(container, present, database="postgres").strip() == "1"
    superuser_sql(container, "CREATE EXTENSION IF NOT EXISTS pg_buffercache;", database="postgres")
    try:
        yield
    finally:
        if not had:
            superuser_sql(container, "DROP EXTENSION pg_buffercache;", database="postgres")


def cold_round(
    settings: Settings, conn: psycopg.Connection, container: str
) -> tuple[float, float, int]:
    """The oldest month dropped and the same rows DELETEd, each right after its relation's pages
    left memory: the two times (ms) and the month's row count."""
    name, upper, rows = oldest_month(conn)
    step(f"retention, month not in memory: {name} ({rows} rows) dropped vs the same rows deleted")
    evict(conn, container, name)
    dropped = measure(settings, conn, PART, detach_and_drop(name), writer=False)[0]
    evict(conn, container, FLAT)
    deleted = measure(settings, conn, FLAT, delete_before(upper), writer=False)[0]
    conn.execute(f"VACUUM {FLAT}")
    return dropped, deleted, rows


def data_directory_mount(container: str) -> str:
    """The data directory's file system and mount options, as the db container sees them."""
    found = docker(
        "exec", container, "sh", "-c", 'findmnt -n -o FSTYPE,OPTIONS --target "$PGDATA"'
    ).split()
    return f"{found[0]} ({found[1]})" if len(found) == 2 else "unknown"


def tenants_last_week(conn: psycopg.Connection, table: str, number: int) -> Callable[[], None]:
    def query() -> None:
        conn.execute(
            f"SELECT count(*), avg(latency_ms) FROM {table}"
            " WHERE tenant_id = %s AND created_at >= now() - interval '7 days'",
            (tenant(number),),
        ).fetchall()

    return query


def last_week(
    conn: psycopg.Connection, rounds: int, per_round: int
) -> tuple[list[float], list[float]]:
    """A tenant's last 7 days on PART and FLAT, interleaved, the tenants taken in turn."""
    counter = iter(range(10**9))
    return interleaved(
        lambda: tenants_last_week(conn, PART, next(counter) % TENANTS)(),
        lambda: tenants_last_week(conn, FLAT, next(counter) % TENANTS)(),
        rounds=rounds,
        per_round=per_round,
    )


@contextmanager
def tenant_time_index(conn: psycopg.Connection) -> Iterator[None]:
    """Both tables with a (tenant_id, created_at) index for the block: what a tenant's time
    range would use if the schema had one (the spec gives query_logs none)."""
    names = [f"{table}_tenant_time_idx" for table in (FLAT, PART)]
    for table, name in zip((FLAT, PART), names, strict=True):
        step(f"indexing {table} (tenant_id, created_at)")
        conn.execute(f"CREATE INDEX {name.split('.')[1]} ON {table} (tenant_id, created_at)")
        conn.execute(f"ANALYZE {table}")
    try:
        yield
    finally:
        for name in names:
            conn.execute(f"DROP INDEX IF EXISTS {name}")


def run(settings: Settings, quick: bool = False) -> Result:
    rows, rounds, per_round, retention_rounds = (
        (20_000, 2, 5, 1) if quick else (10_000_000, 8, 20, 2)
    )
    result = Result(
        "partitions",
        "pg_partman monthly partitions (pruning, DROP of a month)",
        "one plain table, same rows and indexes (DELETE of a month)",
    )
    container = db_container()
    mount = data_directory_mount(container)
    with (
        psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn,
        buffercache(container),
    ):
        conn.execute("SET statement_timeout = 0")
        start = time.monotonic()
        prepare(conn, rows)
        load_s = time.monotonic() - start
        try:
            part_q, flat_q = last_week(conn, rounds, per_round)
            with tenant_time_index(conn):
                part_qi, flat_qi = last_week(conn, rounds, per_round)
            batch = 1000
            part_i, flat_i = interleaved(
                lambda: conn.execute(f"INSERT INTO {PART} ({COLUMNS}) {row_sql(batch, 60)}"),
                lambda: conn.execute(f"INSERT INTO {FLAT} ({COLUMNS}) {row_sql(batch, 60)}"),
                rounds=rounds,
                per_round=per_round // 2 or 1,
            )
            drops = [
                (partman, writer, retention_round(settings, conn, partman=partman, writer=writer))
                for _ in range(retention_rounds)
                for partman in (False, True)
                for writer in (False, True)
            ]
            colds = [cold_round(settings, conn, container) for _ in range(retention_rounds)]
        finally:
            drop(conn)

    def med(partman: bool, writer: bool, index: int, *sides: int) -> float:
        """Median over the rounds of figure INDEX summed over SIDES: 0 the drop, 1 the DELETE,
        2 the VACUUM after it."""
        rounds = [r[:3] for p, w, r in drops if (p, w) == (partman, writer)]
        return statistics.median([sum(r[side][index] for side in sides) for r in rounds])

    result.metrics += [
        Metric(
            f"retention: {label}, {what}",
            med(partman, writer, index, 0),
            med(partman, writer, index, 1),
            unit,
            better=LOWER,
        )
        for partman, label in ((False, "drop a month"), (True, "pg_partman's step"))
        for writer, index, what, unit in (
            (False, 0, "time", "ms"),
            (False, 1, "WAL", "bytes"),
            (True, 2, "insert stall", "ms"),
        )
    ]
    result.metrics.append(
        Metric(
            "retention: drop a month, time, not in memory",
            statistics.median(cold[0] for cold in colds),
            statistics.median(cold[1] for cold in colds),
            "ms",
            better=LOWER,
        )
    )
    result.metrics += [
        Metric(
            f"retention: drop vs DELETE + VACUUM, {what}",
            med(False, False, index, 0),
            med(False, False, index, 1, 2),
            unit,
            better=LOWER,
        )
        for index, what, unit in ((0, "time", "ms"), (1, "WAL", "bytes"))
    ]
    result.metrics += [
        Metric(
            "inserts (batches of 1000 rows)",
            batch / (statistics.median(part_i) / 1000),
            batch / (statistics.median(flat_i) / 1000),
            "rows/s",
            better=HIGHER,
        ),
        Metric(
            "a tenant's last 7 days, median",
            statistics.median(part_q),
            statistics.median(flat_q),
            "ms",
            better=LOWER,
        ),
        Metric(
            "last 7 days, (tenant_id, created_at) both",
            statistics.median(part_qi),
            statistics.median(flat_qi),
            "ms",
            better=LOWER,
        ),
        Metric("rows per side", rows, rows, "rows", better=NEITHER),
    ]
    result.notes += [
        f"{rows} rows per side over {MONTHS} months and {TENANTS} tenants, generated in the server"
        f" (INSERT ... SELECT generate_series), indexed after loading: {load_s:.0f} s for both",
        f"removed months held {', '.join(str(r[3]) for _, _, r in drops)} rows"
        f" ({', '.join(str(cold[2]) for cold in colds)} not in memory); each is dropped"
        " (DETACH + DROP TABLE, or pg_partman's drop_partition_time, the retention step of"
        " run_maintenance) vs DELETEd: time and WAL alone; insert stall: the longest single-row"
        " insert a concurrent writer saw, in rounds of their own; DELETE + VACUUM: with the"
        " VACUUM that makes the deleted rows' space reusable (the DROP frees its files at once)",
        "not in memory: before each statement its relations' pages were evicted from"
        " shared_buffers (pg_buffercache_evict) and from the page cache (fadvise DONTNEED), as an"
        " old month at scale is read from disk; the rows are in time order, so the plain table's"
        " month is adjacent in its heap, as in an appended log",
        f"data directory: {mount}; a DROP's time is mostly the kernel freeing the month's files,"
        " which online `discard` multiplies (bench/report.md)",
        "goals: time <= 0.01 (>= 100x faster), WAL <= 0.01, inserts >= 0.9, last 7 days <= 0.5",
        "last 7 days: the spec's query_logs indexes, then again with a (tenant_id, created_at)"
        " index added to both tables (dropped before the inserts)",
        "queries run as the owner without a tenant policy: the same plan shape both sides;"
        " autovacuum off on both tables (WAL is counted cluster-wide)",
    ]
    return result
