"""How a policy reads app.tenant_id: per row (the spec's sketch) vs once per statement (ours,
a scalar subquery the planner turns into an InitPlan). Same scan, same rows, interleaved."""

from __future__ import annotations

import random
import statistics
import uuid

import psycopg

from cidb.bench.core import LOWER, Metric, Result, interleaved
from cidb.settings import Settings

TENANTS = 10
PER_ROW = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
ONCE = "tenant_id = (SELECT public.current_tenant_id())"


def prepare(conn: psycopg.Connection, rows: int, tenants: list[uuid.UUID]) -> None:
    for name, predicate in (("bench_rls_per_row", PER_ROW), ("bench_rls_once", ONCE)):
        conn.execute(f"DROP TABLE IF EXISTS public.{name}")
        conn.execute(f"CREATE TABLE public.{name} (tenant_id uuid NOT NULL, body text NOT NULL)")
        conn.execute(
            f"INSERT INTO public.{name} SELECT (%s::uuid[])[1 + g %% %s], md5(g::text)"
            " FROM generate_series(1, %s) AS g",
            (tenants, len(tenants), rows),
        )
        conn.execute(f"ALTER TABLE public.{name} ENABLE ROW LEVEL SECURITY")
        conn.execute(f"ALTER TABLE public.{name} FORCE ROW LEVEL SECURITY")
        conn.execute(f"CREATE POLICY tenant_isolation ON public.{name} USING ({predicate})")
        conn.execute(f"VACUUM ANALYZE public.{name}")


def run(settings: Settings, quick: bool = False) -> Result:
    rows, rounds, per_round = (20_000, 4, 5) if quick else (1_000_000, 10, 10)
    rng = random.Random(11)
    tenants = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(TENANTS)]
    # ci_migrator acts as the owner, and FORCE makes the policy apply to the owner too.
    with psycopg.connect(settings.conninfo("migrator"), autocommit=True) as conn:
        prepare(conn, rows, tenants)
        try:
            scan = conn.cursor()

            def count(table: str) -> None:
                with conn.transaction():
                    scan.execute(
                        "SELECT set_config('app.tenant_id', %s, true)", (str(rng.choice(tenants)),)
                    )
                    scan.execute(f"SELECT count(*) FROM public.{table}")
                    assert scan.fetchall() == [(rows // TENANTS,)]

            per_row, once = interleaved(
                lambda: count("bench_rls_per_row"),
                lambda: count("bench_rls_once"),
                rounds=rounds,
                per_round=per_round,
            )
        finally:
            conn.execute("DROP TABLE IF EXISTS public.bench_rls_per_row, public.bench_rls_once")
    result = Result(
        "rls-setting",
        "policy reading the setting per row",
        "policy reading it once per statement (InitPlan)",
    )
    result.metrics.append(
        Metric(
            "full-table count median",
            statistics.median(per_row),
            statistics.median(once),
            "ms",
            better=LOWER,
        )
    )
    result.notes.append(f"{rows} rows over {TENANTS} tenants; count(*) of one tenant's rows")
    return result
