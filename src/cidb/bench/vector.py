"""Vector search: exact scan vs HNSW (QPS, recall@10), tenant-filtered search under RLS with
iterative index scans off vs on, and an ef_search sweep (recall vs QPS)."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Sequence

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from cidb.bench.core import HIGHER, LOWER, Curve, Metric, Result, step
from cidb.embeddings import DIM, clustered
from cidb.settings import Settings

K = 10
TABLE = "public.bench_vectors"


def load(conn: psycopg.Connection, vectors: np.ndarray, tenants: Sequence[uuid.UUID]) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(
        f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, tenant_id uuid NOT NULL,"
        " embedding extensions.vector(1024) NOT NULL)"
    )
    with conn.cursor().copy(
        f"COPY {TABLE} (id, tenant_id, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "uuid", "vector"])
        for index, vector in enumerate(vectors):
            copy.write_row((index, tenants[index % len(tenants)], vector))
    conn.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    conn.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    conn.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE}"
        " USING (tenant_id = (SELECT public.current_tenant_id()))"
    )
    conn.execute(f"GRANT SELECT ON {TABLE} TO ci_app, ci_admin")
    conn.execute(f"VACUUM ANALYZE {TABLE}")


def build_hnsw(conn: psycopg.Connection) -> float:
    start = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute(
        f"CREATE INDEX bench_vectors_hnsw ON {TABLE}"
        " USING hnsw (embedding extensions.vector_cosine_ops)"
        " WITH (m = 16, ef_construction = 200)"
    )
    return time.perf_counter() - start


def exact_topk(vectors: np.ndarray, query: np.ndarray, mask: np.ndarray | None = None) -> set[int]:
    scores = vectors @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    return {int(i) for i in np.argsort(-scores)[:K]}


def search(
    conn: psycopg.Connection,
    queries: np.ndarray,
    *,
    setup: Sequence[str] = (),
    tenants: Sequence[uuid.UUID] | None = None,
) -> tuple[list[list[int]], float]:
    """Top-K ids per query and the queries per second, one transaction per query."""
    found: list[list[int]] = []
    start = time.perf_counter()
    for index, query in enumerate(queries):
        with conn.transaction():
            for statement in setup:
                conn.execute(statement)
            if tenants is not None:
                conn.execute(
                    "SELECT set_config('app.tenant_id', %s, true)",
                    (str(tenants[index % len(tenants)]),),
                )
            rows = conn.execute(
                f"SELECT id FROM {TABLE} ORDER BY embedding <=> %s LIMIT {K}", (query,)
            ).fetchall()
            found.append([r[0] for r in rows])
    return found, len(queries) / (time.perf_counter() - start)


def recall(found: list[list[int]], truth: list[set[int]]) -> float:
    return statistics.mean(len(set(f) & t) / K for f, t in zip(found, truth, strict=True))


def run(settings: Settings, quick: bool = False) -> Result:
    n, n_tenants, n_queries, n_exact = (3_000, 10, 20, 10) if quick else (50_000, 100, 200, 50)
    rng = np.random.default_rng(42)
    vectors = clustered(n, 50, rng)
    queries = vectors[rng.integers(0, n, n_queries)] + 0.05 * rng.standard_normal(
        (n_queries, DIM), np.float32
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    tenants = [uuid.UUID(int=int(x)) for x in rng.integers(1, 2**62, n_tenants)]
    tenant_of = np.arange(n) % n_tenants
    truth = [exact_topk(vectors, q) for q in queries]
    truth_filtered = [
        exact_topk(vectors, q, tenant_of == i % n_tenants) for i, q in enumerate(queries)
    ]

    # No server-side prepared statements: a generic plan cached while enable_indexscan was off
    # (the exact-scan phase) would keep seq-scanning after it is back on.
    def connect(role: str) -> psycopg.Connection:
        return psycopg.connect(settings.conninfo(role), autocommit=True, prepare_threshold=None)

    with connect("migrator") as owner, connect("admin") as admin, connect("app") as app:
        register_vector(owner)
        step(f"loading {n:,} vectors")
        load(owner, vectors, tenants)
        try:
            step("building the HNSW index")
            build_s = build_hnsw(owner)
            register_vector(admin)
            register_vector(app)
            step("exact scan, HNSW, ef_search sweep, filtered searches")
            exact_found, exact_qps = search(
                admin, queries[:n_exact], setup=["SET LOCAL enable_indexscan = off"]
            )
            hnsw_found, hnsw_qps = search(admin, queries)
            sweep = []
            for ef in (10, 20, 40, 80, 160, 320):
                found, qps = search(admin, queries, setup=[f"SET LOCAL hnsw.ef_search = {ef}"])
                sweep.append((ef, recall(found, truth), qps))
            off, off_qps = search(
                app, queries, tenants=tenants, setup=["SET LOCAL hnsw.iterative_scan = off"]
            )
            on, on_qps = search(
                app,
                queries,
                tenants=tenants,
                setup=["SET LOCAL hnsw.iterative_scan = relaxed_order"],
            )
        finally:
            owner.execute(f"DROP TABLE IF EXISTS {TABLE}")

    result = Result("vector", "HNSW / iterative scans", "exact scan / no iterative scans")
    result.metrics += [
        Metric("QPS, HNSW vs exact scan", hnsw_qps, exact_qps, "q/s", better=HIGHER),
        Metric(
            "recall@10, HNSW vs exact scan",
            recall(hnsw_found, truth),
            recall(exact_found, truth[:n_exact]),
            "ratio",
            better=HIGHER,
        ),
        Metric(
            "filtered recall@10, iterative on vs off",
            recall(on, truth_filtered),
            recall(off, truth_filtered),
            "ratio",
            better=HIGHER,
        ),
        Metric(
            "filtered rows returned, on vs off",
            statistics.mean(map(len, on)),
            statistics.mean(map(len, off)),
            "rows",
            better=HIGHER,
        ),
        Metric("filtered latency, on vs off", 1000 / on_qps, 1000 / off_qps, "ms", better=LOWER),
    ]
    result.notes += [
        f"{n} x {DIM}-dim clustered unit vectors over {n_tenants} tenants"
        f" ({n // n_tenants} each); {n_queries} queries; HNSW m=16, ef_construction=200 built in"
        f" {build_s:.1f}s",
        "filtered search runs as ci_app under RLS (the tenant filter comes from the policy)",
        "ef_search sweep (ef, recall@10, QPS): "
        + ", ".join(f"({ef}, {r:.3f}, {q:.0f})" for ef, r, q in sweep),
    ]
    result.curves.append(
        Curve(
            "HNSW ef_search sweep",
            "recall@10",
            "queries per second",
            {"hnsw.ef_search 10..320": [(r, q) for _, r, q in sweep]},
        )
    )
    return result
