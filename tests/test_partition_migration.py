"""The partitions/* changes on a database whose log tables already hold rows: reverted to plain
tables, filled, deployed again; every row survives with the same content, both ways."""

from __future__ import annotations

import time
import uuid

import pytest
from fixtures_db import FreshDb
from fixtures_stack import STACK_PASSWORDS
from support.docker import Container

from cidb.partitions import LOG_TABLES

ROWS = 20_000  # per table, spread over 400 days, plus one far-past and one far-future row
BEFORE_PARTITIONS = "functions/partition_tools"
SQITCH_ENV = {
    "PGHOST": "/var/run/postgresql",
    "PGUSER": "ci_migrator",
    "PGDATABASE": "contextinject",
}
FILL = {
    "query_logs": (
        "INSERT INTO query_logs (tenant_id, project_id, query, response, metadata, latency_ms,"
        " created_at) SELECT :t, :p, 'q' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'r' || g END,"
        " jsonb_build_object('g', g), g % 500, {when} FROM generate_series(1, {rows}) AS g"
    ),
    "usage_events": (
        "INSERT INTO usage_events (tenant_id, project_id, event_type, quantity, unit,"
        " idempotency_key, created_at) SELECT :t, :p, 'query', g, 'request', 'k' || g || {when},"
        " {when}"
        " FROM generate_series(1, {rows}) AS g"
    ),
    "audit_logs": (
        "INSERT INTO audit_logs (tenant_id, action, resource_type, ip_address, created_at)"
        " SELECT :t, 'a' || (g % 7), 'test', '10.0.0.' || (g % 250), {when}"
        " FROM generate_series(1, {rows}) AS g"
    ),
}
SPREAD = "now() - (g % 400) * interval '1 day' - (g % 86400) * interval '1 second'"


def sqitch(db: Container, *args: str) -> str:
    """Sqitch in the container as ci_migrator over the socket (as the entrypoint runs it)."""
    return db.exec("sqitch", "--chdir", "/usr/share/ci-db/sqitch", *args, "db:pg:", env=SQITCH_ENV)


def fingerprint(db: Container) -> dict[str, str]:
    """table -> row count and an md5 over every row's text, in id order (as the superuser)."""
    return {
        table: db.psql(
            f"SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t"
        )
        for table in LOG_TABLES
    }


def relkinds(db: Container) -> str:
    """The log tables' relkinds, e.g. 'r,r,r' (plain) or 'p,p,p' (partitioned)."""
    names = ", ".join(f"'public.{t}'::regclass" for t in LOG_TABLES)
    return db.psql(f"SELECT string_agg(relkind::text, ',') FROM pg_class WHERE oid IN ({names})")


@pytest.fixture(scope="module")
def populated(module_fresh_db: FreshDb) -> Container:
    """A fresh database back at the plain log tables, each filled with ROWS + 2 rows."""
    db = module_fresh_db(STACK_PASSWORDS)
    sqitch(db, "revert", "-y", "--to", BEFORE_PARTITIONS)
    tenant, project = uuid.uuid4(), uuid.uuid4()
    db.psql(f"INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'm', 'm-tenant')")
    db.psql(f"INSERT INTO projects (id, tenant_id, name) VALUES ('{project}', '{tenant}', 'p')")
    for fill in FILL.values():
        for when, rows in ((SPREAD, ROWS), ("'1999-01-01'", 1), ("'2999-01-01'", 1)):
            sql = fill.format(when=when, rows=rows).replace(":t", f"'{tenant}'::uuid")
            db.psql(sql.replace(":p", f"'{project}'::uuid"))
    assert relkinds(db) == "r,r,r"
    return db


def test_deploy_over_populated_tables_keeps_every_row(populated: Container) -> None:
    """Row counts and content checksums equal before and after; the tables are partitioned."""
    before = fingerprint(populated)
    assert all(value.startswith(f"{ROWS + 2}:") for value in before.values()), before
    start = time.monotonic()
    sqitch(populated, "deploy", "--verify")
    took = time.monotonic() - start
    assert fingerprint(populated) == before
    assert relkinds(populated) == "p,p,p"
    for table in LOG_TABLES:
        # Rows older than the retention's start and the far ones wait in the default partition.
        assert int(populated.psql(f"SELECT count(*) FROM {table}_default")) >= 2
    print(f"\ndeploy of the partitions/* changes over 3 x {ROWS + 2} rows: {took:.1f} s")


def test_revert_over_populated_partitions_keeps_every_row(populated: Container) -> None:
    """Back to plain tables: the same rows, the same content."""
    before = fingerprint(populated)
    sqitch(populated, "revert", "-y", "--to", BEFORE_PARTITIONS)
    assert fingerprint(populated) == before
    assert relkinds(populated) == "r,r,r"
    sqitch(populated, "deploy", "--verify")
    assert fingerprint(populated) == before
