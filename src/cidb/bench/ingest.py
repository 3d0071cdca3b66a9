"""Bulk loading of embedded chunks (issue 14, part 3) vs the API's row-at-a-time path, into
the real chunks table with its spec HNSW index:

- row by row: one with_tenant transaction and one INSERT per chunk (the API's path);
- load_chunks: the same rows in one transaction, pipelined, the index kept (ci_app, RLS);
- bulk: drop the index, load_chunks, build the index again concurrently (ci_migrator).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from cidb.bench.core import HIGHER, Metric, Result, step
from cidb.bench.rls import tenant_with_documents
from cidb.embeddings import clustered
from cidb.ingest import Chunk, build_embedding_index, index_definition, load_chunks
from cidb.pool import build_pool, with_tenant
from cidb.settings import Settings

ROW = (
    "INSERT INTO public.chunks (tenant_id, project_id, document_id, content, token_count,"
    " chunk_index, vector_id, embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
GOAL = "bulk path vs row by row"


def make_chunks(document: uuid.UUID, vectors: np.ndarray, tag: str) -> list[Chunk]:
    return [
        Chunk(document, f"chunk {i} " + "x" * 500, 128, i, f"{tag}-{i}", vector)
        for i, vector in enumerate(vectors)
    ]


def timed(label: str, rows: int, fn: Callable[[], object]) -> float:
    """Rows per second of FN."""
    step(f"ingest: {label}, {rows:,} chunks")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    step(f"ingest: {label} took {seconds:.1f} s")
    return rows / seconds


def run(settings: Settings, quick: bool = False) -> Result:
    n = 300 if quick else 4_000
    rng = np.random.default_rng(3)
    vectors = clustered(n, 20, rng)
    tag = uuid.uuid4().hex[:8]
    pool = build_pool(settings, role="ci_app", pooled=False, min_size=1, max_size=1)
    pool.open(wait=True, timeout=30)
    rates: dict[str, float] = {}
    with (
        psycopg.connect(settings.conninfo("admin"), autocommit=True) as admin,
        psycopg.connect(settings.conninfo("migrator"), autocommit=True) as migrator,
    ):
        definition = index_definition(migrator)
        sides = {
            name: tenant_with_documents(admin, f"bench-ingest-{tag}-{name}", 1)
            for name in ("row", "kept", "bulk")
        }
        try:

            def row_by_row(batch: Sequence[Chunk], tenant: uuid.UUID, project: uuid.UUID) -> None:
                for number, c in enumerate(batch, start=1):
                    with with_tenant(pool, tenant) as conn:
                        if number == 1:
                            register_vector(conn)
                        conn.execute(
                            ROW,
                            (tenant, project, c.document_id, c.content, c.token_count,
                             c.chunk_index, c.vector_id, c.embedding),
                        )  # fmt: skip
                    if number % 1000 == 0:
                        step(f"ingest: row by row {number:,}/{len(batch):,}")

            def bulk(batch: Sequence[Chunk], tenant: uuid.UUID) -> None:
                migrator.execute("SET lock_timeout = '5s'")
                migrator.execute(
                    "DROP INDEX CONCURRENTLY IF EXISTS public.chunks_embedding_hnsw_idx"
                )
                try:
                    load_chunks(pool, tenant, batch)
                finally:
                    migrator.execute("SET lock_timeout = 0")
                    build_embedding_index(migrator, definition)

            tenant, project, document = sides["row"]
            rates["row"] = timed(
                "row by row (the API's path), index in place",
                n,
                lambda: row_by_row(make_chunks(document, vectors, f"{tag}-row"), tenant, project),
            )
            clean(admin, migrator, tenant)
            tenant, project, document = sides["kept"]
            rates["kept"] = timed(
                "load_chunks, index in place",
                n,
                lambda: load_chunks(pool, tenant, make_chunks(document, vectors, f"{tag}-kept")),
            )
            clean(admin, migrator, tenant)
            tenant, project, document = sides["bulk"]
            rates["bulk"] = timed(
                "bulk: drop the index, load_chunks, CREATE INDEX CONCURRENTLY",
                n,
                lambda: bulk(make_chunks(document, vectors, f"{tag}-bulk"), tenant),
            )
            valid = index_definition(migrator) == definition
        finally:
            pool.close()
            ids = [t for t, _, _ in sides.values()]
            admin.execute("DELETE FROM public.tenants WHERE id = ANY(%s)", (ids,))
            migrator.execute("VACUUM public.chunks")
    result = Result("ingest", "bulk load paths", "row by row into the indexed table")
    result.metrics += [
        Metric(
            f"{GOAL}: drop index, load, build concurrently",
            rates["bulk"],
            rates["row"],
            "rows/s",
            better=HIGHER,
        ),
        Metric(
            "load_chunks (one pipelined transaction), index kept",
            rates["kept"],
            rates["row"],
            "rows/s",
            better=HIGHER,
        ),
    ]
    result.notes += [
        f"{n:,} embedded chunks (1024-dim clustered unit vectors, ~500 B of text) per path into"
        " public.chunks with the spec's HNSW index (m=16, ef_construction=200), for a tenant of"
        " its own each; the table held no other chunks, so the bulk path's build covers only the"
        " loaded rows: it pays off when an import is large next to what the table already holds",
        f"rows/s: row by row {rates['row']:.0f}, load_chunks with the index {rates['kept']:.0f},"
        f" bulk (load + build) {rates['bulk']:.0f}; the index afterwards is the spec's, valid:"
        f" {valid}",
    ]
    return result


def clean(admin: psycopg.Connection, migrator: psycopg.Connection, tenant: uuid.UUID) -> None:
    """The phase's rows out again, and vacuumed out of the HNSW graph, before the next one."""
    admin.execute("DELETE FROM public.chunks WHERE tenant_id = %s", (tenant,))
    migrator.execute("VACUUM public.chunks")
