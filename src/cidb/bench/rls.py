"""RLS cost: the same indexed tenant query and insert as ci_app under RLS vs ci_admin with an
explicit tenant filter (BYPASSRLS), interleaved in one run, measured twice:

- the policy alone: both sides send the same messages (BEGIN with a tenant setting in one,
  the query, COMMIT), so only the policy differs;
- the helper end to end: `with_tenant` on a pool vs the pool's own transaction with the filter.
"""

from __future__ import annotations

import random
import uuid

import psycopg

from cidb.bench.core import HIGHER, Metric, Result, interleaved, latency_metrics
from cidb.pool import begin_for_tenant, build_pool, with_tenant
from cidb.settings import Settings

LIST_UNDER_RLS = (
    "SELECT id, title FROM public.documents WHERE project_id = %s ORDER BY created_at DESC LIMIT 20"
)
LIST_EXPLICIT = (
    "SELECT id, title FROM public.documents WHERE tenant_id = %s AND project_id = %s"
    " ORDER BY created_at DESC LIMIT 20"
)
INSERT = (
    "INSERT INTO public.documents (tenant_id, project_id, connector_type, title, mime_type,"
    " content_hash) VALUES (%s, %s, 'direct-upload', 'bench', 'text/plain', repeat('0', 64))"
)
SET_TENANT = "SELECT set_config('app.tenant_id', %s, true)"
POLICY_GOAL = 0.95
HELPER_GOAL = 0.90


def throughput(label: str, goal: float, variant: list[float], baseline: list[float]) -> Metric:
    """Calls per second from the per-call latencies (ms): higher is better."""
    return Metric(
        f"{label} throughput (goal >= {goal})",
        1000 * len(variant) / sum(variant),
        1000 * len(baseline) / sum(baseline),
        "calls/s",
        better=HIGHER,
    )


def tenant_with_documents(
    admin: psycopg.Connection, slug: str, documents: int
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A tenant with one project of DOCUMENTS documents (as ci_admin): (tenant, project, first
    document)."""
    tenant = admin.execute(
        "INSERT INTO public.tenants (name, slug) VALUES (%s, %s) RETURNING id", (slug, slug)
    ).fetchall()[0][0]
    project = admin.execute(
        "INSERT INTO public.projects (tenant_id, name) VALUES (%s, 'bench') RETURNING id",
        (tenant,),
    ).fetchall()[0][0]
    first = admin.execute(
        "INSERT INTO public.documents (tenant_id, project_id, connector_type, title, mime_type,"
        " content_hash) SELECT %s, %s, 'direct-upload', 'doc ' || g, 'text/plain',"
        " md5(g::text) || md5(g::text) FROM generate_series(1, %s) AS g RETURNING id",
        (tenant, project, documents),
    ).fetchall()[0][0]
    return tenant, project, first


def seed(admin: psycopg.Connection, tenants: int, documents: int) -> list[tuple[str, str]]:
    """TENANTS tenants with one project of DOCUMENTS documents each; returns (tenant, project)."""
    tag = uuid.uuid4().hex[:8]
    pairs = []
    for index in range(tenants):
        tenant, project, _ = tenant_with_documents(admin, f"bench-rls-{tag}-{index}", documents)
        pairs.append((str(tenant), str(project)))
    admin.execute("ANALYZE public.documents")
    return pairs


def run(settings: Settings, quick: bool = False) -> Result:
    tenants, documents = (5, 200) if quick else (50, 2000)
    rounds, per_round = (4, 25) if quick else (20, 100)
    rng = random.Random(7)
    with (
        psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin,
        psycopg.connect(settings.conninfo("app"), autocommit=True) as app,
        psycopg.connect(settings.conninfo("admin"), autocommit=True) as explicit,
    ):
        pairs = seed(admin, tenants, documents)
        app_pool = build_pool(settings, role="ci_app", pooled=False, min_size=1, max_size=1)
        admin_pool = build_pool(settings, role="ci_admin", pooled=False, min_size=1, max_size=1)
        app_pool.open(wait=True, timeout=30)
        admin_pool.open(wait=True, timeout=30)
        try:
            # The policy alone: the same three messages on each side.
            def policy_list() -> None:
                tenant, project = rng.choice(pairs)
                app.execute(begin_for_tenant(tenant))
                app.execute(LIST_UNDER_RLS, (project,)).fetchall()
                app.execute("COMMIT")

            def filter_list() -> None:
                tenant, project = rng.choice(pairs)
                explicit.execute(begin_for_tenant(tenant))
                explicit.execute(LIST_EXPLICIT, (tenant, project)).fetchall()
                explicit.execute("COMMIT")

            def policy_insert() -> None:
                tenant, project = rng.choice(pairs)
                app.execute(begin_for_tenant(tenant))
                app.execute(INSERT, (tenant, project))
                app.execute("COMMIT")

            def filter_insert() -> None:
                tenant, project = rng.choice(pairs)
                explicit.execute(begin_for_tenant(tenant))
                explicit.execute(INSERT, (tenant, project))
                explicit.execute("COMMIT")

            # End to end, as an application writes it.
            def helper_list() -> None:
                tenant, project = rng.choice(pairs)
                with with_tenant(app_pool, tenant) as conn:
                    conn.execute(LIST_UNDER_RLS, (project,)).fetchall()

            def pool_filter_list() -> None:
                tenant, project = rng.choice(pairs)
                with admin_pool.connection() as conn, conn.transaction():
                    conn.execute(LIST_EXPLICIT, (tenant, project)).fetchall()

            def helper_insert() -> None:
                tenant, project = rng.choice(pairs)
                with with_tenant(app_pool, tenant) as conn:
                    conn.execute(INSERT, (tenant, project))

            def pool_filter_insert() -> None:
                tenant, project = rng.choice(pairs)
                with admin_pool.connection() as conn, conn.transaction():
                    conn.execute(INSERT, (tenant, project))

            policy = interleaved(policy_list, filter_list, rounds=rounds, per_round=per_round)
            policy_inserts = interleaved(
                policy_insert, filter_insert, rounds=rounds, per_round=per_round
            )
            helper = interleaved(helper_list, pool_filter_list, rounds=rounds, per_round=per_round)
            inserts = interleaved(
                helper_insert, pool_filter_insert, rounds=rounds, per_round=per_round
            )
        finally:
            app_pool.close()
            admin_pool.close()
            admin.execute(
                "DELETE FROM public.tenants WHERE id = ANY(%s::uuid[])", ([t for t, _ in pairs],)
            )
    result = Result("rls", "ci_app under RLS", "ci_admin + explicit tenant_id filter")
    result.metrics.append(throughput("policy alone: document list", POLICY_GOAL, *policy))
    result.metrics += latency_metrics("policy alone: document list", *policy)
    result.metrics.append(throughput("policy alone: document insert", POLICY_GOAL, *policy_inserts))
    result.metrics.append(throughput("with_tenant: document list", HELPER_GOAL, *helper))
    result.metrics += latency_metrics("with_tenant: document list", *helper)
    result.metrics.append(throughput("with_tenant: document insert", HELPER_GOAL, *inserts))
    result.metrics += latency_metrics("with_tenant: document insert", *inserts)
    result.notes.append(
        f"{tenants} tenants x {documents} documents; {rounds} interleaved rounds of {per_round};"
        " policy alone: each side sends BEGIN + a tenant setting in one message, the query,"
        " COMMIT (3 round trips each); with_tenant: the helper on a one-connection pool vs the"
        " same pool's transaction with the explicit filter (3 round trips each since the helper"
        " sends its BEGIN and the tenant together)"
    )
    return result
