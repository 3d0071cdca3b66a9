"""`cidb top`: a live view of the stack as ci_monitor (pg_monitor; PgBouncer stats_users).

Pools and waiting clients from PgBouncer's SHOW POOLS, open transactions, lock waits, the
busiest statements (pg_stat_statements) and vacuum progress from PostgreSQL, refreshed every
second until q or Ctrl-C.
"""

from __future__ import annotations

import select
import sys
import termios
import time
import tty
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cidb.names import MONITOR_ROLE
from cidb.settings import Settings

Rows = list[tuple[Any, ...]]

TRANSACTIONS = """
SELECT pid, usename, application_name, state,
       round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_seconds,
       coalesce(wait_event_type || ':' || wait_event, '') AS waiting_on,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query
FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
ORDER BY xact_start
LIMIT 10
"""
LOCKS = """
SELECT l.pid, l.locktype, l.mode, coalesce(l.relation::regclass::text, ''),
       pg_catalog.array_to_string(pg_catalog.pg_blocking_pids(l.pid), ',') AS blocked_by
FROM pg_catalog.pg_locks AS l
WHERE NOT l.granted
ORDER BY l.pid
LIMIT 10
"""
STATEMENTS = """
SELECT r.rolname, s.calls, round(s.total_exec_time::numeric, 1) AS total_ms,
       round(s.mean_exec_time::numeric, 2) AS mean_ms,
       left(regexp_replace(s.query, '\\s+', ' ', 'g'), 70) AS query
FROM extensions.pg_stat_statements AS s
JOIN pg_catalog.pg_roles AS r ON r.oid = s.userid
ORDER BY s.total_exec_time DESC
LIMIT 10
"""
VACUUMS = """
SELECT p.pid, p.relid::regclass::text, p.phase, p.heap_blks_scanned, p.heap_blks_total
FROM pg_catalog.pg_stat_progress_vacuum AS p
ORDER BY p.pid
"""
SUMMARY = """
SELECT count(*) FILTER (WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int
FROM pg_catalog.pg_stat_activity
"""
POOL_COLUMNS = ("database", "user", "cl_active", "cl_waiting", "sv_active", "sv_idle", "maxwait")


@dataclass
class Snapshot:
    """One refresh's figures."""

    connections: int
    max_connections: int
    pools: Rows
    transactions: Rows
    locks: Rows
    statements: Rows
    vacuums: Rows


class Sources:
    """ci_monitor's two connections: PostgreSQL directly, PgBouncer's console."""

    def __init__(self, settings: Settings) -> None:
        password = settings.password(MONITOR_ROLE)
        self.db = psycopg.connect(
            settings.conninfo(MONITOR_ROLE, connect_timeout=10, application_name="cidb-top"),
            autocommit=True,
        )
        # The console speaks the simple protocol only: never prepare a SHOW.
        self.console = psycopg.connect(
            make_conninfo(
                host=settings.host,
                port=settings.pool_port,
                dbname="pgbouncer",
                user=MONITOR_ROLE,
                password=password,
                connect_timeout=10,
            ),
            autocommit=True,
            prepare_threshold=None,
        )

    def close(self) -> None:
        self.db.close()
        self.console.close()

    def pools(self) -> Rows:
        cur = self.console.execute("SHOW POOLS")
        names = [col.name for col in cur.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        return [
            tuple(row[c] for c in POOL_COLUMNS) for row in rows if row["database"] != "pgbouncer"
        ]

    def snapshot(self) -> Snapshot:
        summary = self.db.execute(SUMMARY).fetchone()
        assert summary is not None
        return Snapshot(
            connections=summary[0],
            max_connections=summary[1],
            pools=self.pools(),
            transactions=self.db.execute(TRANSACTIONS).fetchall(),
            locks=self.db.execute(LOCKS).fetchall(),
            statements=self.db.execute(STATEMENTS).fetchall(),
            vacuums=self.db.execute(VACUUMS).fetchall(),
        )


def table(title: str, columns: Sequence[str], rows: Rows) -> Table:
    """A titled table; "none" in one row when there is nothing to show."""
    out = Table(title=title, title_justify="left", expand=True, pad_edge=False)
    for column in columns:
        out.add_column(column, overflow="fold")
    if not rows:
        out.add_row("none", *[""] * (len(columns) - 1))
    for row in rows:
        out.add_row(*["" if value is None else str(value) for value in row])
    return out


def render(snap: Snapshot, settings: Settings) -> Group:
    header = Text(
        f"cidb top  {time.strftime('%H:%M:%S')}  {settings.host}:{settings.port}"
        f"  connections {snap.connections}/{snap.max_connections}   (q quits)",
        style="bold",
    )
    return Group(
        header,
        table("PgBouncer pools", POOL_COLUMNS, snap.pools),
        table(
            "Open transactions (oldest first)",
            ("pid", "user", "application", "state", "xact s", "waiting on", "query"),
            snap.transactions,
        ),
        table("Lock waits", ("pid", "lock", "mode", "relation", "blocked by"), snap.locks),
        table(
            "Busiest statements (total time)",
            ("role", "calls", "total ms", "mean ms", "query"),
            snap.statements,
        ),
        table("Vacuum progress", ("pid", "table", "phase", "scanned", "total"), snap.vacuums),
    )


@contextmanager
def keys() -> Iterator[bool]:
    """cbreak mode on a terminal (keys arrive one by one; Ctrl-C still interrupts)."""
    if not sys.stdin.isatty():
        yield False
        return
    saved = termios.tcgetattr(sys.stdin)
    tty.setcbreak(sys.stdin)
    try:
        yield True
    finally:
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


def quit_pressed(interactive: bool, timeout: float) -> bool:
    """Wait up to TIMEOUT for a key; True on q."""
    if not interactive:
        time.sleep(timeout)
        return False
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and sys.stdin.read(1).lower() == "q"


def run(settings: Settings, interval: float = 1.0, once: bool = False) -> int:
    """Refresh every INTERVAL seconds until q or Ctrl-C (ONCE: print one frame and return)."""
    sources = Sources(settings)
    console = Console()
    try:
        if once:
            console.print(render(sources.snapshot(), settings))
            return 0
        with (
            keys() as interactive,
            Live(render(sources.snapshot(), settings), console=console, screen=True) as live,
        ):
            while not quit_pressed(interactive, interval):
                live.update(render(sources.snapshot(), settings))
    except KeyboardInterrupt:
        pass
    finally:
        sources.close()
    return 0
