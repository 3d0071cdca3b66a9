"""RLS cost: the same indexed tenant query and insert as ci_app under RLS vs ci_admin with an
explicit tenant filter (BYPASSRLS), interleaved in one run."""

from __future__ import annotations

import random
import uuid

import psycopg

from cidb.bench.core import Result, interleaved, latency_metrics
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


def seed(admin: psycopg.Connection, tenants: int, documents: int) -> list[tuple[str, str]]:
    """TENANTS tenants with one project of DOCUMENTS documents each; returns (tenant, project)."""
    pairs = []
    tag = uuid.uuid4().hex[:8]
    for index in range(tenants):
        tenant = admin.execute(
            "INSERT INTO public.tenants (name, slug) VALUES (%s, %s) RETURNING id",
            (f"bench {index}", f"bench-rls-{tag}-{index}"),
        ).fetchall()[0][0]
        project = admin.execute(
            "INSERT INTO public.projects (tenant_id, name) VALUES (%s, 'bench') RETURNING id",
            (tenant,),
        ).fetchall()[0][0]
        admin.execute(
            "INSERT INTO public.documents (tenant_id, project_id, connector_type, title, mime_type,"
            " content_hash) SELECT %s, %s, 'direct-upload', 'doc ' || g, 'text/plain',"
            " md5(g::text) || md5(g::text) FROM generate_series(1, %s) AS g",
            (tenant, project, documents),
        )
        pairs.append((str(tenant), str(project)))
    admin.execute("ANALYZE public.documents")
    return pairs


def run(settings: Settings, quick: bool = False) -> Result:
    tenants, documents = (5, 200) if quick else (50, 2000)
    rounds, per_round = (4, 25) if quick else (20, 100)
    rng = random.Random(7)
    with (
        psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin,
        psycopg.connect(settings.conninfo("app")) as app,
        psycopg.connect(settings.conninfo("admin")) as explicit,
    ):
        pairs = seed(admin, tenants, documents)
        try:

            def app_list() -> None:
                tenant, project = rng.choice(pairs)
                with app.transaction():
                    app.execute(SET_TENANT, (tenant,))
                    app.execute(LIST_UNDER_RLS, (project,)).fetchall()

            def admin_list() -> None:
                tenant, project = rng.choice(pairs)
                with explicit.transaction():
                    explicit.execute(LIST_EXPLICIT, (tenant, project)).fetchall()

            def app_insert() -> None:
                tenant, project = rng.choice(pairs)
                with app.transaction():
                    app.execute(SET_TENANT, (tenant,))
                    app.execute(INSERT, (tenant, project))

            def admin_insert() -> None:
                tenant, project = rng.choice(pairs)
                with explicit.transaction():
                    explicit.execute(INSERT, (tenant, project))

            lists = interleaved(app_list, admin_list, rounds=rounds, per_round=per_round)
            inserts = interleaved(app_insert, admin_insert, rounds=rounds, per_round=per_round)
        finally:
            admin.execute(
                "DELETE FROM public.tenants WHERE id = ANY(%s::uuid[])", ([t for t, _ in pairs],)
            )
    result = Result("rls", "ci_app under RLS", "ci_admin + explicit tenant_id filter")
    result.metrics += latency_metrics("tenant document list", *lists)
    result.metrics += latency_metrics("document insert", *inserts)
    result.notes.append(
        f"{tenants} tenants x {documents} documents; {rounds} interleaved rounds of {per_round};"
        " the RLS side includes with_tenant's set_config, as an application pays it"
    )
    return result
