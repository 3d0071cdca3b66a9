"""`cidb partitions`: the time-partitioned log tables as ci_monitor sees them (catalog and stats).

Rows outside the premade range land in a table's default partition: nothing is lost, but they
are out of retention's reach, and a row there for a month that maintenance later premakes makes
that run fail. So the check reports the default partitions' rows and how far ahead partitions
exist, and exits 1 when either needs an operator (README "Partitioned log tables").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from cidb.settings import Settings

LOG_TABLES = ("query_logs", "usage_events", "audit_logs")

# ci_monitor reads no table: partition bounds come from pg_class, row counts from the statistics
# (pg_stat_user_tables.n_live_tup: exact for inserts once the writer's stats are flushed, within
# seconds; an estimate after VACUUM or ANALYZE of a large table).
_QUERY = """
WITH parts AS (
    SELECT p.relname AS parent, c.relname AS child,
           pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $$FROM \\('([^']+)'$$)::timestamptz
               AS lower,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $$TO \\('([^']+)'$$)::timestamptz
               AS upper,
           coalesce(s.n_live_tup, 0) AS live_rows
    FROM pg_inherits AS i
    JOIN pg_class AS p ON p.oid = i.inhparent
    JOIN pg_class AS c ON c.oid = i.inhrelid
    LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid
    WHERE p.relnamespace = 'public'::regnamespace AND p.relname = ANY(%s)
)
SELECT parent,
       count(*) FILTER (WHERE NOT is_default) AS partitions,
       min(lower) AS oldest,
       max(upper) AS newest,
       max(upper - lower) AS width,
       coalesce(sum(live_rows) FILTER (WHERE is_default), 0)::bigint AS default_rows,
       count(*) FILTER (WHERE is_default) AS defaults,
       now() AS checked_at
FROM parts GROUP BY parent ORDER BY parent
"""


@dataclass(frozen=True)
class PartitionSet:
    """One partitioned log table: its partitions' range and its default partition's rows."""

    table: str
    partitions: int
    oldest: datetime | None
    newest: datetime | None
    width: timedelta | None
    default_rows: int
    has_default: bool
    checked_at: datetime

    def problems(self) -> list[str]:
        """What an operator must act on; empty when the set is healthy."""
        found = []
        if not self.has_default:
            found.append("no default partition: a row outside the premade range is refused")
        if self.default_rows:
            found.append(
                f"{self.default_rows} row(s) in {self.table}_default (outside the premade range):"
                " move them with partman.partition_data_proc, or delete them"
            )
        if self.newest is None or self.width is None or self.newest - self.checked_at < self.width:
            found.append("less than one partition premade ahead: is pg_cron's maintenance running?")
        return found


def check(conn: psycopg.Connection) -> list[PartitionSet]:
    """The three log tables' partition sets (a table that is not partitioned is missing)."""
    rows = conn.execute(_QUERY, (list(LOG_TABLES),)).fetchall()
    return [
        PartitionSet(table, parts, oldest, newest, width, default_rows, defaults > 0, at)
        for table, parts, oldest, newest, width, default_rows, defaults, at in rows
    ]


def run(settings: Settings) -> int:
    """Print the report; 1 when something needs an operator, else 0."""
    with psycopg.connect(settings.conninfo("monitor", connect_timeout=10)) as conn:
        sets = check(conn)
    status = 0
    missing = set(LOG_TABLES) - {s.table for s in sets}
    for table in sorted(missing):
        print(f"{table}: not partitioned")
        status = 1
    for s in sets:
        span = f"{s.oldest:%Y-%m-%d} .. {s.newest:%Y-%m-%d}" if s.oldest and s.newest else "none"
        print(f"{s.table}: {s.partitions} partitions ({span}), default rows: {s.default_rows}")
        for problem in s.problems():
            print(f"  PROBLEM: {problem}")
            status = 1
    return status
