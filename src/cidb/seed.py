"""`cidb seed`: the development seed and deterministic synthetic tenants, against any target.

The development seed has one source, seed/dev.sql (psql meta-commands print the new API key
once). The image's entrypoint runs it at start-up when CI_DB_DEV_SEED=1; here it runs as
ci_admin through psql in a throwaway ci-db container (the host needs no psql), the way
cidb.sqitch runs Sqitch: the working tree's seed/ is mounted, the password travels in the
environment, never in argv.

Synthetic tenants (cidb.synthetic) are written tenant by tenant, one transaction each. Tenants
are created by ci_admin (the app role may not). Their rows go in as ci_app under RLS by default,
with the tenant set by set_config(.., true), so the database itself refuses a row filed under
another tenant. PostgreSQL refuses COPY FROM for a role subject to RLS ("COPY FROM not supported
with row-level security"), so that path uses pipelined executemany INSERTs; `copy=True` uses
binary COPY as ci_admin (BYPASSRLS) and then checks, as ci_app, that each tenant sees exactly the
rows written for it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

import psycopg
from pgvector.psycopg import register_vector
from plumbum import local
from plumbum.commands.base import BaseCommand
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cidb.compose import project_dir
from cidb.names import db_image
from cidb.pool import SET_TENANT
from cidb.settings import Settings
from cidb.sqitch import Target
from cidb.synthetic import (
    TENANT_TABLES,
    Rows,
    Spec,
    password_hash,
    tenant_row,
    tenant_rows,
)

MOUNT = "/seed"
BATCH = 1000
ADMIN = "ci_admin"


class SeedError(RuntimeError):
    """The seed could not run or did not leave the data it should have."""


# -- where ------------------------------------------------------------------------------------
def target_settings(uri: str, base: Settings) -> Settings:
    """BASE pointed at a postgresql:// URI; roles and passwords stay those of BASE (the env)."""
    if not uri.startswith(("postgresql://", "postgres://")):
        raise SeedError(f"target {uri!r} is not a postgresql:// URI")
    try:
        parts = conninfo_to_dict(uri)
    except psycopg.ProgrammingError as error:
        raise SeedError(f"target {uri!r}: {error}") from None
    if "password" in parts:
        raise SeedError(
            "put no password in --target: they come from CI_ADMIN_PASSWORD and CI_APP_PASSWORD"
        )
    if parts.get("user", ADMIN) != ADMIN:
        raise SeedError(f"the seed runs as {ADMIN} (and ci_app); leave the user out of --target")
    return replace(
        base,
        host=str(parts.get("host") or "127.0.0.1"),
        port=int(parts.get("port") or 5432),
        database=str(parts.get("dbname") or base.database),
    )


def seed_dir() -> Path:
    return project_dir() / "seed"


def plan_limits() -> dict[str, Any]:
    """Tenant settings per plan, from the file dev.sql reads too."""
    limits: dict[str, Any] = json.loads((seed_dir() / "plan-limits.json").read_text())
    return limits


# -- the development seed ---------------------------------------------------------------------
def dev_seed_command(settings: Settings, *, target: str = "") -> BaseCommand:
    """psql -f dev.sql as ci_admin in a throwaway ci-db container, against TARGET or the stack."""
    if target:
        where, network = target_settings(target, settings), "host"
    else:
        # Inside db's network namespace 127.0.0.1:5432 is the database, whatever is published.
        where = replace(settings, host="127.0.0.1", port=5432)
        network = Target.stack(settings).network
    env = where.libpq_env(ADMIN)
    docker_args = ["run", "--rm", "-i", "--network", network]
    docker_args += ["-v", f"{seed_dir().resolve()}:{MOUNT}:ro", "-w", MOUNT]
    for name in env:
        docker_args += ["-e", name]  # -e NAME copies the value from our env: never in argv
    psql = ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-q", "-f", "dev.sql"]
    return local["docker"][(*docker_args, db_image(), *psql)].with_env(**env)


def dev_seed(settings: Settings, *, target: str = "") -> str:
    """Run the development seed; returns its output (a new key is in it, once)."""
    code, out, err = dev_seed_command(settings, target=target).run(retcode=None)
    if code != 0:
        raise SeedError(f"the development seed failed (exit {code}):\n{out}{err}")
    return str(out)


# -- writing rows -----------------------------------------------------------------------------
def batches(rows: Iterable[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# Binary COPY wants each column's type by name: enums and varchar go as text (the same bytes).
CATALOG = """
SELECT c.relname, a.attname,
       CASE WHEN t.typtype = 'e' OR t.typcategory = 'S' THEN 'text' ELSE t.typname END,
       a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '',
       pg_catalog.has_column_privilege(c.oid, a.attnum, 'INSERT')
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
WHERE n.nspname = 'public' AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""


@dataclass(frozen=True)
class Column:
    """What the catalog says of a column, for the role asking."""

    type: str
    required: bool  # NOT NULL without a default
    insertable: bool


Catalog = dict[str, dict[str, Column]]


def read_catalog(conn: psycopg.Connection, tables: Sequence[str] = TENANT_TABLES) -> Catalog:
    """The columns of TABLES as the connected role sees them (INSERT rights per column)."""
    catalog: Catalog = {table: {} for table in tables}
    for table, name, kind, required, insertable in conn.execute(CATALOG, (list(tables),)):
        catalog[table][name] = Column(kind, required, insertable)
    return catalog


def checked_columns(catalog: Catalog, table: str, names: Sequence[str]) -> list[Column]:
    """NAMES' catalog entries; SeedError if one may not be written or a required one is missing."""
    columns = catalog[table]
    refused = [n for n in names if n not in columns or not columns[n].insertable]
    missing = [n for n, c in columns.items() if c.required and n not in names]
    if refused or missing:
        raise SeedError(
            f"{table}: the generator writes {refused or 'no'} column(s) the role may not insert"
            f" and leaves out required {missing or 'none'}: update cidb.synthetic to the schema"
        )
    return [columns[n] for n in names]


def _names(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def write_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    done: Callable[[int], None],
    *,
    copy: bool = False,
) -> None:
    """Pipelined INSERTs (psycopg's executemany), which work under RLS as ci_app; or with COPY,
    binary COPY, which needs a role that bypasses RLS (ci_admin)."""
    target = sql.SQL("public.{} ({})").format(sql.Identifier(table), _names(columns))
    if copy:
        types = [c.type for c in checked_columns(read_catalog(conn, [table]), table, columns)]
        statement = sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(target)
        with conn.cursor().copy(statement) as stream:
            stream.set_types(types)
            for batch in batches(rows):
                for row in batch:
                    stream.write_row(row)
                done(len(batch))
        return
    values = sql.SQL(", ").join(sql.Placeholder() * len(columns))
    query = sql.SQL("INSERT INTO {} VALUES ({})").format(target, values)
    with conn.cursor() as cursor:
        for batch in batches(rows):
            cursor.executemany(query, batch)
            done(len(batch))


def write_tenant(
    conn: psycopg.Connection, rows: Rows, done: Callable[[int], None], *, copy: bool = False
) -> None:
    """Every table of one tenant, parents first, in the caller's transaction."""
    catalog = read_catalog(conn)
    for table in TENANT_TABLES:
        columns = rows.columns.get(table, ())
        if rows.tables[table]:
            checked_columns(catalog, table, columns)
            write_rows(conn, table, columns, rows.tables[table], done, copy=copy)


def visible_counts(app: psycopg.Connection, tenant_id: object) -> dict[str, int]:
    """Rows per table that ci_app sees with TENANT_ID set (RLS filters the rest)."""
    counts = {}
    with app.transaction():
        app.execute(SET_TENANT, (str(tenant_id),))
        for table in TENANT_TABLES:
            query = sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(table))
            counts[table] = app.execute(query).fetchone()[0]  # type: ignore[index]
    return counts


# -- synthetic tenants ------------------------------------------------------------------------
def create_tenants(admin: psycopg.Connection, spec: Spec, limits: dict[str, Any]) -> None:
    """The tenants rows, as ci_admin, committed (ci_app's rows reference them)."""
    rows = [tenant_row(spec, i, limits) for i in range(spec.tenants)]
    columns = list(rows[0])
    query = sql.SQL(
        "INSERT INTO public.tenants ({}) VALUES ({}) ON CONFLICT (slug) DO NOTHING"
    ).format(_names(columns), sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    with admin.transaction():  # the catalog read too: outside, it would open a transaction
        checked_columns(read_catalog(admin, ["tenants"]), "tenants", columns)
        admin.cursor().executemany(query, [tuple(row.values()) for row in rows])
        found: dict[str, Any] = dict(
            admin.execute(
                "SELECT slug, id FROM public.tenants WHERE slug = ANY(%s)",
                ([spec.slug(i) for i in range(spec.tenants)],),
            ).fetchall()
        )
    for index in range(spec.tenants):
        if found.get(spec.slug(index)) != spec.tenant_id(index):
            raise SeedError(f"slug {spec.slug(index)} belongs to a tenant this seed did not create")


def already_generated(conn: psycopg.Connection, tenant_id: object) -> bool:
    """A tenant's rows are written in one transaction: any project means all of them."""
    query = "SELECT EXISTS (SELECT FROM public.projects WHERE tenant_id = %s)"
    return bool(conn.execute(query, (tenant_id,)).fetchone()[0])  # type: ignore[index]


@dataclass
class Summary:
    """What a synthetic run did."""

    written: int = 0
    skipped: int = 0
    rows: int = 0
    seconds: float = 0.0

    def line(self, spec: Spec) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (
            f"cidb seed: synthetic seed {spec.seed}: {self.written} tenant(s) written, "
            f"{self.skipped} already there (skipped); {self.rows:,} rows in {self.seconds:.1f} s "
            f"({rate:,.0f} rows/s)"
        )


class Progress:
    """A one-line progress bar on a terminal (a line per tenant otherwise)."""

    def __init__(self, tenants: int, stream: TextIO = sys.stderr) -> None:
        self.tenants, self.stream = tenants, stream
        self.tty = stream.isatty()
        self.seen: list[int] = []  # rows of each tenant generated so far
        self.done = 0
        self.start = time.monotonic()
        self.drawn = 0.0

    def tenant(self, rows: int) -> None:
        self.seen.append(rows)

    def skip(self, slug: str) -> None:
        self.done += self.seen[-1]
        self._line(f"{slug} exists (already generated); skipped")

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.tty and time.monotonic() - self.drawn > 0.2:
            self.draw()

    def finished_tenant(self, slug: str) -> None:
        if self.tty:
            self.draw()
        else:
            self._line(f"{slug} written ({len(self.seen)}/{self.tenants} tenants)")

    def total(self) -> int:
        """Rows expected: those known, plus the average for tenants not generated yet."""
        known = sum(self.seen)
        return known + (self.tenants - len(self.seen)) * known // max(1, len(self.seen))

    def draw(self) -> None:
        self.drawn = time.monotonic()
        total = max(1, self.total())
        share = min(1.0, self.done / total)
        rate = self.done / max(1e-9, self.drawn - self.start)
        bar = "#" * int(share * 30)
        self.stream.write(
            f"\r[{bar:<30}] {share:4.0%} {self.done:,}/{total:,} rows, {rate:,.0f} rows/s, "
            f"tenant {len(self.seen)}/{self.tenants} "
        )
        self.stream.flush()

    def _line(self, text: str) -> None:
        prefix = "\n" if self.tty else ""
        self.stream.write(f"{prefix}cidb seed: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _connect(settings: Settings, role: str) -> psycopg.Connection:
    conn = psycopg.connect(settings.conninfo(role, connect_timeout=10))
    register_vector(conn)
    return conn


def synthetic(
    settings: Settings, spec: Spec, *, copy: bool = False, stream: TextIO = sys.stderr
) -> Summary:
    """Generate SPEC's tenants into the database of SETTINGS; tenants already there are skipped."""
    summary, progress = Summary(), Progress(spec.tenants, stream)
    password = password_hash(spec.seed)
    started = time.monotonic()
    with (
        _connect(settings, ADMIN) as admin,
        _connect(settings, "ci_app") as app,
        ThreadPoolExecutor(max_workers=1) as ahead,
    ):
        create_tenants(admin, spec, plan_limits())
        # The next tenant is generated while this one is written (the writer mostly waits).
        upcoming = ahead.submit(tenant_rows, spec, 0, password)
        for index in range(spec.tenants):
            rows = upcoming.result()
            if index + 1 < spec.tenants:
                upcoming = ahead.submit(tenant_rows, spec, index + 1, password)
            progress.tenant(rows.count())
            if _one_tenant(admin if copy else app, app, rows, copy, progress.advance):
                summary.written += 1
                summary.rows += rows.count()
                progress.finished_tenant(spec.slug(index))
            else:
                summary.skipped += 1
                progress.skip(spec.slug(index))
    progress.close()
    summary.seconds = time.monotonic() - started
    return summary


def _one_tenant(
    writer_conn: psycopg.Connection,
    app: psycopg.Connection,
    rows: Rows,
    copy: bool,
    done: Callable[[int], None],
) -> bool:
    """Write one tenant in one transaction; False when it was already there."""
    with writer_conn.transaction():
        if not copy:
            writer_conn.execute(SET_TENANT, (str(rows.tenant_id),))
        if already_generated(writer_conn, rows.tenant_id):
            return False
        write_tenant(writer_conn, rows, done, copy=copy)
    if copy:
        expected = {table: len(rows.tables[table]) for table in TENANT_TABLES}
        seen = visible_counts(app, rows.tenant_id)
        if seen != expected:
            raise SeedError(f"tenant {rows.tenant_id}: ci_app sees {seen}, expected {expected}")
    return True
