"""Retention by pg_cron on a database of its own: the partitions past retention go, the rest stay,
and inserts keep going while maintenance runs (the longest insert stall is printed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fixtures_db import FreshDb
from fixtures_stack import STACK_PASSWORDS
from support.docker import Container

from cidb.bench.partitions import inserting
from cidb.containers import wait_until
from cidb.settings import Settings

RETENTION = "2 months"
# Partitions of audit_logs whose range ends before now() - RETENTION: what partman must drop.
PAST_RETENTION = f"""
SELECT coalesce(string_agg(c.relname, ',' ORDER BY c.relname), '')
FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'public.audit_logs'::regclass
  AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
  AND substring(pg_get_expr(c.relpartbound, c.oid) FROM $$TO \\('([^']+)'$$)::timestamptz
      < now() - interval '{RETENTION}'
"""
ALL_PARTITIONS = """
SELECT string_agg(c.relname, ',' ORDER BY c.relname)
FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'public.audit_logs'::regclass
"""


@pytest.fixture(scope="module")
def own_db(module_fresh_db: FreshDb) -> Container:
    return module_fresh_db(STACK_PASSWORDS)


@pytest.fixture(scope="module")
def own_settings(own_db: Container) -> Settings:
    return Settings.from_env({**STACK_PASSWORDS, "CI_DB_PORT": str(own_db.port(5432))})


@pytest.fixture
def every_second(own_db: Container) -> Iterator[None]:
    """The maintenance job every second instead of hourly, for this test only."""
    job = "(SELECT jobid FROM cron.job WHERE jobname = 'ci-db-partition-maintenance')"
    own_db.psql(f"SELECT cron.alter_job({job}, schedule := '1 seconds')")
    yield
    own_db.psql(f"SELECT cron.alter_job({job}, schedule := '7 * * * *')")


def insert_audit_row(tenant: uuid.UUID) -> Callable[[psycopg.Connection], None]:
    """One audit row as ci_app would write it: in a transaction with the tenant set."""

    def insert(conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
            conn.execute(
                "INSERT INTO public.audit_logs (tenant_id, action, resource_type)"
                " VALUES (%s, 'stall.probe', 'test')",
                (tenant,),
            )

    return insert


def test_pg_cron_drops_exactly_the_partitions_past_retention_while_inserts_go_on(
    own_db: Container, own_settings: Settings, every_second: None
) -> None:
    """Old partitions with rows go, newer ones keep theirs; inserts never fail meanwhile."""
    tenant = uuid.uuid4()
    own_db.psql(f"INSERT INTO tenants (id, name, slug) VALUES ('{tenant}', 'r', 'r-{tenant.hex}')")
    # One row in every premade partition, the dropped-to-be ones included (as the superuser:
    # created_at is the server's for the application roles).
    own_db.psql(
        "INSERT INTO audit_logs (tenant_id, action, resource_type, created_at)"
        f" SELECT '{tenant}', 'old', 'test', lower_bound + interval '1 day'"
        " FROM (SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM $$FROM \\('([^']+)'$$)"
        "       ::timestamptz AS lower_bound"
        "       FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
        "       WHERE i.inhparent = 'public.audit_logs'::regclass) AS b"
        " WHERE lower_bound IS NOT NULL"
    )
    before = set(own_db.psql(ALL_PARTITIONS).split(","))
    doomed = set(filter(None, own_db.psql(PAST_RETENTION).split(",")))
    assert doomed, "nothing past retention: the test would prove nothing"
    kept_rows = (
        "SELECT count(*) FROM audit_logs WHERE action = 'old'"
        f" AND tableoid::regclass::text <> ALL(string_to_array('{','.join(doomed)}', ','))"
    )
    kept_rows_before = own_db.psql(kept_rows)
    assert int(kept_rows_before) > 0
    with psycopg.connect(own_settings.conninfo("migrator"), autocommit=True) as owner:
        owner.execute(
            "UPDATE partman.part_config SET retention = %s"
            " WHERE parent_table = 'public.audit_logs'",
            (RETENTION,),
        )

    with inserting(
        own_settings.conninfo("app", connect_timeout=10), insert_audit_row(tenant)
    ) as inserter:
        wait_until(
            lambda: not set(filter(None, own_db.psql(PAST_RETENTION).split(","))) & doomed,
            180,
            lambda: (
                f"still there: {own_db.psql(PAST_RETENTION)}; runs:"
                f" {own_db.psql('SELECT status, return_message FROM cron.job_run_details')}"
            ),
        )
        # One more run after the drop, so the stall covers a run with nothing left to drop too.
        succeeded = "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'"
        done = int(own_db.psql(succeeded))
        wait_until(
            lambda: int(own_db.psql(succeeded)) > done,
            120,
            lambda: "no further successful maintenance run",
        )

    after = set(own_db.psql(ALL_PARTITIONS).split(","))
    assert before - after == doomed
    assert (
        own_db.psql("SELECT DISTINCT username FROM cron.job_run_details WHERE status = 'succeeded'")
        == "ci_partman"
    )
    assert own_db.psql(kept_rows) == kept_rows_before
    assert inserter.errors == []
    assert inserter.latencies
    print(
        f"\nlongest insert stall while pg_cron ran the retention: {max(inserter.latencies):.1f} ms"
        f" over {len(inserter.latencies)} inserts"
    )
